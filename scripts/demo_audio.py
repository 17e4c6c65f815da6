#!/usr/bin/env python3
"""The demo's soundtrack: speech (a WAV from espeak-ng), then a sweep from 100 Hz to 8 kHz,
then an A major chord, as one mono 16-bit WAV at the speech's sample rate. Something worth
seeing in a spectrogram: formants, a rising line, four steady tones.

usage: demo_audio.py SPEECH.wav OUT.wav
"""

import math
import struct
import sys
import wave


def tone_samples(rate, seconds, frequency_at, amplitude):
    """A sine whose frequency follows frequency_at(t), with 20 ms fades at both ends."""
    n = int(rate * seconds)
    fade = int(rate * 0.02)
    phase = 0.0
    out = []
    for i in range(n):
        phase += 2 * math.pi * frequency_at(i / rate) / rate
        gain = min(1.0, i / fade, (n - 1 - i) / fade)
        out.append(amplitude * gain * math.sin(phase))
    return out


def main():
    speech_path, out_path = sys.argv[1:3]
    with wave.open(speech_path, "rb") as w:
        if (w.getnchannels(), w.getsampwidth()) != (1, 2):
            sys.exit(f"{speech_path}: expected mono 16-bit PCM")
        rate = w.getframerate()
        speech = w.readframes(w.getnframes())

    pause = [0.0] * int(rate * 0.25)
    low, high, sweep_s = 100.0, 8000.0, 2.0
    sweep = tone_samples(rate, sweep_s, lambda t: low * (high / low) ** (t / sweep_s), 0.5)
    chord = [0.0] * int(rate * 1.5)
    for hz in (220.0, 277.18, 329.63, 440.0):
        for i, v in enumerate(tone_samples(rate, 1.5, lambda t, hz=hz: hz, 0.2)):
            chord[i] += v
    tail = pause + sweep + pause + chord
    pcm = struct.pack(f"<{len(tail)}h", *(round(max(-1.0, min(1.0, v)) * 32767) for v in tail))

    with wave.open(out_path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(speech + pcm)


if __name__ == "__main__":
    main()
