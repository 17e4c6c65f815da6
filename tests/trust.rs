//! What a third party can check: masked blocks stay bound to their recording through an edit and
//! a repair.

mod gstcommon;

use std::process::{Command, Output};

use gst::prelude::*;
use gstcommon::*;

const BIN: &str = env!("CARGO_BIN_EXE_h4mk");
const KEY_HEX: &str = "8f3a1c5e7b9d2f4608a1c3e5b7d9f1a2c4e6f8091b3d5f7a9c1e3f5a7b9d1c3e";

fn h4mk(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("h4mk runs")
}

fn stdout_and_err(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn payload(word: &str, i: u64) -> Vec<u8> {
    format!(
        "{word} {i}: secret media bytes {}",
        "x".repeat(i as usize * 10)
    )
    .into_bytes()
}

/// Ten data blocks (`word` starts each payload) masked by h4mask with `props` and muxed by
/// h4mkmux into `path`.
fn masked_file(path: &str, key: &str, props: &str, word: &str) {
    let p = pipeline(&format!(
        "appsrc name=src format=time ! h4mask key-file={key} {props} ! h4mkmux ! filesink location={path}"
    ));
    let src = app_src(&p, "src");
    src.set_caps(Some(&"application/x-test".parse::<gst::Caps>().unwrap()));
    p.set_state(gst::State::Playing).unwrap();
    for i in 0..10u64 {
        let mut b = gst::Buffer::from_mut_slice(payload(word, i));
        let r = b.get_mut().unwrap();
        r.set_pts(gst::ClockTime::from_mseconds(i * 40));
        r.set_duration(gst::ClockTime::from_mseconds(40));
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    run(&p, 20);
}

/// (offset, length) of the `nth` SAFE chunk of an H4MK file.
fn safe_chunk(file: &[u8], nth: usize) -> (usize, usize) {
    let mut at = 20; // after the file header chunk
    let mut seen = 0;
    loop {
        let size = u32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap()) as usize;
        if &file[at..at + 4] == b"SAFE" {
            if seen == nth {
                return (at, 12 + size);
            }
            seen += 1;
        }
        at += 12 + size;
    }
}

/// Unmasks `path` through h4mkdemux and h4mask: the payloads that came out, and the error.
fn unmask_file(path: &str, key: &str) -> (Vec<Vec<u8>>, Option<gst::glib::Error>) {
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux ! h4mask key-file={key} ! appsink name=out"
    ));
    let out = capture(&p, "out");
    p.set_state(gst::State::Playing).unwrap();
    let mut error = None;
    let bus = p.bus().unwrap();
    if let Some(m) = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(20),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) && let gst::MessageView::Error(e) = m.view()
    {
        error = Some(e.error());
    }
    p.set_state(gst::State::Null).unwrap();
    let got = out
        .lock()
        .unwrap()
        .buffers
        .iter()
        .map(|b| b.data.clone())
        .collect();
    (got, error)
}

/// A masked block taken from another recording made under the same key and track, spliced into
/// a file and re-indexed by `h4mk repair`, is refused in both authenticated modes; repair drops
/// it by default, and unmasking then reports the missing block. GCM-SIV stays deterministic.
#[test]
fn a_block_from_another_recording_is_refused_after_repair() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(d("key"), KEY_HEX).unwrap();
    let key = d("key");
    for mode in ["aes-256-gcm", "aes-256-gcm-siv"] {
        let props = format!("mode={mode}");
        masked_file(&d("a.h4mk"), &key, &props, "block");
        masked_file(&d("b.h4mk"), &key, &props, "other");
        let a = std::fs::read(d("a.h4mk")).unwrap();
        let b = std::fs::read(d("b.h4mk")).unwrap();
        if mode == "aes-256-gcm-siv" {
            masked_file(&d("a2.h4mk"), &key, &props, "block");
            assert!(
                a == std::fs::read(d("a2.h4mk")).unwrap(),
                "{mode}: same input, same bytes"
            );
        }
        let (at, len) = safe_chunk(&a, 4);
        let (bt, blen) = safe_chunk(&b, 4);
        assert_eq!(len, blen);
        let mut spliced = a.clone();
        spliced[at..at + len].copy_from_slice(&b[bt..bt + len]);
        std::fs::write(d("spliced.h4mk"), &spliced).unwrap();

        let o = h4mk(&["verify", &d("spliced.h4mk")]);
        assert_eq!(o.status.code(), Some(1), "{mode}: {}", stdout_and_err(&o));
        assert!(stdout_and_err(&o).contains("block.hash.mismatch"));

        // Kept by repair on request: the file verifies apart from that block, and unmasking
        // refuses it, having let out exactly the four blocks before it.
        let o = h4mk(&[
            "repair",
            &d("spliced.h4mk"),
            "-o",
            &d("kept.h4mk"),
            "--keep-unverified",
        ]);
        assert!(o.status.success(), "{mode}: {}", stdout_and_err(&o));
        let (got, err) = unmask_file(&d("kept.h4mk"), &key);
        let err = err.unwrap_or_else(|| panic!("{mode}: the spliced block opened"));
        assert!(err.matches(gst::StreamError::Decrypt), "{mode}: {err}");
        assert!(
            err.to_string()
                .contains("block 4 of track 0 (PTS 160000000 ns) fails authentication"),
            "{mode}: {err}"
        );
        assert_eq!(
            got,
            (0..4).map(|i| payload("block", i)).collect::<Vec<_>>(),
            "{mode}"
        );
        let o = h4mk(&[
            "extract",
            &d("kept.h4mk"),
            "--key-file",
            &key,
            "-o",
            &d("x.bin"),
        ]);
        assert!(
            !o.status.success(),
            "{mode}: extract opened the spliced block"
        );
        assert!(
            stdout_and_err(&o).contains("block 4 of track 0"),
            "{mode}: {}",
            stdout_and_err(&o)
        );

        // Dropped by repair (the default): unmasking names the gap.
        let o = h4mk(&["repair", &d("spliced.h4mk"), "-o", &d("dropped.h4mk")]);
        assert!(o.status.success(), "{mode}: {}", stdout_and_err(&o));
        let (got, err) = unmask_file(&d("dropped.h4mk"), &key);
        let err = err.unwrap_or_else(|| panic!("{mode}: the gap went unnoticed"));
        assert!(
            err.to_string()
                .contains("block index 5 where 4 was expected"),
            "{mode}: {err}"
        );
        assert_eq!(got.len(), 4, "{mode}");
    }
}

mod common;

use common::{meta as sample_meta, sample_blocks};
use gsth4::crypto::signing::SigningKey;
use gsth4::format::Code;
use gsth4::format::meta::{CheckpointPolicy, Meta, Signer};
use gsth4::format::verify::{Report, trust_findings, verify};
use gsth4::format::writer::Writer;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32]).unwrap()
}

fn policy() -> CheckpointPolicy {
    CheckpointPolicy {
        blocks: 8,
        ..CheckpointPolicy::default()
    }
}

/// Two tracks of 20 blocks, a checkpoint every 8 blocks; signed with `signing` when given.
fn file(signing: Option<SigningKey>) -> Vec<u8> {
    let mut m: Meta = sample_meta(2, policy());
    m.signer = signing.as_ref().map(|k| Signer::of(&k.public()));
    let mut w = Writer::new(Vec::new(), &m).unwrap();
    if let Some(k) = signing {
        w.sign_with(k).unwrap();
    }
    for b in sample_blocks(2, 20, 5) {
        w.write_block(&b.spec, &b.data).unwrap();
    }
    w.finish().unwrap().0
}

fn check(bytes: &[u8]) -> Report {
    verify(bytes, |_| {}).unwrap()
}

fn codes(r: &Report) -> Vec<Code> {
    r.findings.iter().map(|f| f.code).collect()
}

/// Offsets and tags of an intact file's chunks.
fn chunks(bytes: &[u8]) -> Vec<(usize, [u8; 4])> {
    common::chunk_map(bytes)
        .into_iter()
        .map(|(_, offset, tag)| (offset as usize, tag))
        .collect()
}

#[test]
fn a_signed_file_names_its_signer_and_covers_every_block() {
    let signed = file(Some(key(1)));
    let plain = file(None);
    let r = check(&signed);
    assert!(r.is_ok(), "{:?}", r.findings);
    let s = r.signed.expect("signed");
    assert_eq!((s.key, s.blocks, s.whole_file), (key(1).public(), 40, true));
    assert_eq!(s.through as usize, signed.len() - 36, "all but TAIL");
    // The blocks and their root are those of the unsigned file.
    assert_eq!(r.root, check(&plain).root);
    let sign_chunks = chunks(&signed).iter().filter(|c| &c.1 == b"SIGN").count();
    assert_eq!(
        sign_chunks as u64,
        r.checkpoints + 1,
        "one per HASH, one for VERI"
    );
    assert!(trust_findings(&r, &[key(1).public()]).is_empty());
    let untrusted = trust_findings(&r, &[key(2).public()]);
    assert_eq!(untrusted.len(), 1);
    assert_eq!(untrusted[0].code, Code::SignUntrusted);
    assert!(
        untrusted[0]
            .message
            .contains(&key(1).public().id().to_string())
    );
    let unsigned = trust_findings(&check(&plain), &[key(1).public()]);
    assert_eq!(
        unsigned.iter().map(|f| f.code).collect::<Vec<_>>(),
        [Code::SignAbsent]
    );
    // The writer refuses a key META does not name.
    let mut w = Writer::new(Vec::new(), &sample_meta(1, policy())).unwrap();
    let e = w.sign_with(key(1)).unwrap_err();
    assert_eq!(e.code, Code::InvalidInput);
}

/// Every byte of a signed file matters under trust: flipped, the file fails verification or
/// trust (its CRC, its digest, its leaf, or the signature).
#[test]
fn any_flipped_byte_of_a_signed_file_fails_under_trust() {
    let signed = file(Some(key(1)));
    let trusted = [key(1).public()];
    let map = chunks(&signed);
    for i in 0..signed.len() {
        let (start, tag) = map[map.iter().rposition(|c| c.0 <= i).unwrap()];
        // Block payloads: every 5th byte (their CRC and leaf are tested elsewhere); every byte
        // of the header, META, HASH, SIGN, SEEK, VERI and TAIL chunks.
        if &tag == b"CORE" && i > start + 52 && i % 5 != 0 {
            continue;
        }
        let mut bad = signed.clone();
        bad[i] ^= 0x08;
        let r = check(&bad);
        let trust = trust_findings(&r, &trusted);
        assert!(
            !r.is_ok() || !trust.is_empty(),
            "byte {i} ({} chunk at {start}) flipped: still verifies and is trusted",
            String::from_utf8_lossy(&tag)
        );
    }
}

fn reseal(f: &mut [u8], chunk: usize) {
    let h = gsth4::format::chunk::ChunkHeader::parse(f[chunk..chunk + 12].try_into().unwrap());
    let end = chunk + h.chunk_len() as usize;
    let crc = gsth4::format::chunk::chunk_crc(&h.tag, h.size, &[&f[chunk + 12..end]]);
    f[chunk + 8..chunk + 12].copy_from_slice(&crc.to_le_bytes());
}

/// An editor who changes META and rewrites its CRC and its digest in the HASH chunk that lists
/// it (so every CRC and digest holds) cannot rewrite the signature: the chain names it.
#[test]
fn meta_edited_with_its_digest_rewritten_breaks_every_later_signature() {
    use sha2::{Digest, Sha256};
    let mut f = file(Some(key(1)));
    let map = chunks(&f);
    let (meta_at, _) = map[1];
    let meta_end = map[2].0;
    let at = meta_at
        + f[meta_at..meta_end]
            .windows(6)
            .position(|w| w == b"gst-h4")
            .unwrap();
    f[at + 5] = b'5';
    reseal(&mut f, meta_at);
    let digest: [u8; 32] = Sha256::digest(&f[meta_at..meta_end]).into();
    let (hash_at, _) = *map.iter().find(|c| &c.1 == b"HASH").unwrap();
    // The first digest record (ordinal 0: the file header; ordinal 1: META) after 64 fixed bytes.
    let record = hash_at + 12 + 64 + 56;
    assert_eq!(
        u64::from_le_bytes(f[record..record + 8].try_into().unwrap()),
        1
    );
    f[record + 24..record + 56].copy_from_slice(&digest);
    reseal(&mut f, hash_at);
    let r = check(&f);
    assert!(!codes(&r).is_empty());
    assert!(
        codes(&r).iter().all(|c| *c == Code::SignInvalid),
        "{:?}",
        r.findings
    );
    assert!(
        r.findings[0].message.contains("signed another history"),
        "{}",
        r.findings[0]
    );
    assert_eq!(r.signed, None);
    assert_eq!(
        trust_findings(&r, &[key(1).public()])[0].code,
        Code::SignAbsent
    );
}

/// A recording cut anywhere is reported signed through the last checkpoint whose SIGN survived.
#[test]
fn a_cut_recording_is_signed_through_its_last_checkpoint() {
    let f = file(Some(key(1)));
    let map = chunks(&f);
    let signs: Vec<usize> = map
        .iter()
        .enumerate()
        .filter(|(_, c)| &c.1 == b"SIGN")
        .map(|(i, _)| i)
        .collect();
    for cut in (100..f.len() - 400).step_by(37) {
        let r = check(&f[..cut]);
        assert!(codes(&r).contains(&Code::VeriAbsent), "cut {cut}");
        // The SIGN chunks that end before the cut.
        let whole: Vec<usize> = signs
            .iter()
            .copied()
            .filter(|i| map.get(i + 1).is_some_and(|n| n.0 <= cut))
            .collect();
        match (whole.last(), r.signed) {
            (None, None) => {}
            (Some(i), Some(s)) => {
                assert_eq!(s.through as usize, map[i + 1].0, "cut {cut}");
                assert!(!s.whole_file);
                let blocks_before = map[..*i].iter().filter(|c| &c.1 == b"CORE").count();
                assert_eq!(s.blocks as usize, blocks_before, "cut {cut}");
                assert!(
                    trust_findings(&r, &[key(1).public()]).is_empty(),
                    "cut {cut}"
                );
            }
            (w, s) => panic!("cut {cut}: SIGN chunks before it {w:?}, report {s:?}"),
        }
    }
}

/// Stripped of its signatures (META still naming the signer), or re-signed by another key.
#[test]
fn stripped_or_re_signed_files_fail_the_first_keys_trust() {
    let f = file(Some(key(1)));
    // Re-signed with key 2 through `sign_file`: blocks and root unchanged.
    let (resigned, report) =
        gsth4::format::sign_file::sign_file(std::io::Cursor::new(&f), Vec::new(), key(2)).unwrap();
    assert_eq!(report.replaced, [key(1).public().id().to_string()]);
    let r = check(&resigned);
    assert!(r.is_ok(), "{:?}", r.findings);
    assert_eq!(r.root, check(&f).root);
    assert_eq!(
        trust_findings(&r, &[key(1).public()])
            .iter()
            .map(|f| f.code)
            .collect::<Vec<_>>(),
        [Code::SignUntrusted]
    );
    assert!(trust_findings(&r, &[key(2).public()]).is_empty());
    // Signing an unsigned file gives the bytes a signing writer writes.
    let (signed_later, _) =
        gsth4::format::sign_file::sign_file(std::io::Cursor::new(file(None)), Vec::new(), key(1))
            .unwrap();
    assert!(
        signed_later == f,
        "signed afterwards = signed while writing"
    );
    // Written again without the key, META still naming the signer: every HASH and VERI is
    // named for its missing SIGN.
    let mut m: Meta = sample_meta(2, policy());
    m.signer = Some(Signer::of(&key(1).public()));
    let mut w = Writer::new(Vec::new(), &m).unwrap();
    for b in sample_blocks(2, 20, 5) {
        w.write_block(&b.spec, &b.data).unwrap();
    }
    let stripped = w.finish().unwrap().0;
    let r = check(&stripped);
    assert_eq!(
        codes(&r),
        vec![Code::SignAbsent; r.checkpoints as usize + 1]
    );
    assert!(r.findings[0].message.contains("not followed by its SIGN"));
    // A damaged file is not signed.
    let mut damaged = f.clone();
    damaged[300] ^= 1;
    let e = gsth4::format::sign_file::sign_file(std::io::Cursor::new(&damaged), Vec::new(), key(1))
        .unwrap_err();
    assert!(e.message.contains("repair it first"), "{e}");
}

fn h4mk_ok(args: &[&str]) -> String {
    let o = h4mk(args);
    assert!(o.status.success(), "h4mk {args:?}: {}", stdout_and_err(&o));
    stdout_and_err(&o)
}

/// h4mkmux signs while recording; `h4mk sign` signs an unsigned recording of the same stream
/// to the same bytes; OpenSSL's keys work both ways; `verify --trust` says who signed.
#[test]
fn recordings_signed_by_the_muxer_and_by_h4mk_sign() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    let out = h4mk_ok(&["keygen", "-o", &d("k")]);
    let id = out
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    h4mk_ok(&["keygen", "-o", &d("other")]);
    // Refuses to overwrite a key.
    let o = h4mk(&["keygen", "-o", &d("k")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout_and_err(&o).contains("exists; a key is never overwritten"));
    let p = pipeline(&format!(
        "videotestsrc num-buffers=90 ! video/x-raw,width=160,height=120,framerate=30/1 \
         ! x264enc key-int-max=15 speed-preset=ultrafast ! h264parse ! tee name=t \
         t. ! queue ! h4mkmux signing-key-file={} checkpoint-interval=500000000 ! filesink location={} \
         t. ! queue ! h4mkmux checkpoint-interval=500000000 ! filesink location={}",
        d("k"),
        d("signed.h4mk"),
        d("plain.h4mk")
    ));
    run(&p, 60);
    let out = h4mk_ok(&["verify", &d("signed.h4mk"), "--trust", &d("k.pub")]);
    assert!(
        out.contains(&format!(
            "signed by ed25519 key {id} (trusted): blocks 0 to 89"
        )) && out.contains("the whole file (VERI signed)"),
        "{out}"
    );
    let o = h4mk(&["verify", &d("signed.h4mk"), "--trust", &d("other.pub")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout_and_err(&o).contains("sign.untrusted"));
    // A directory of trusted keys.
    std::fs::create_dir(d("trusted")).unwrap();
    std::fs::copy(d("k.pub"), d("trusted/k.pub")).unwrap();
    h4mk_ok(&["verify", &d("signed.h4mk"), "--trust", &d("trusted")]);
    let o = h4mk(&["verify", &d("plain.h4mk"), "--trust", &d("trusted")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout_and_err(&o).contains("sign.absent"));

    // Signed afterwards: the same bytes as signed while recording.
    h4mk_ok(&[
        "sign",
        &d("plain.h4mk"),
        "-k",
        &d("k"),
        "-o",
        &d("later.h4mk"),
    ]);
    assert!(
        std::fs::read(d("later.h4mk")).unwrap() == std::fs::read(d("signed.h4mk")).unwrap(),
        "h4mk sign and h4mkmux signing-key-file write the same file"
    );

    // One frame proven on its own: the proof checks without the file, under the signer's key.
    let out = h4mk_ok(&[
        "prove",
        &d("signed.h4mk"),
        "--track",
        "0",
        "--time",
        "1.5",
        "-o",
        &d("p.json"),
    ]);
    assert!(
        out.contains(&format!("signed by ed25519 key {id}")),
        "{out}"
    );
    let out = h4mk_ok(&[
        "check-proof",
        &d("p.json"),
        "--trust",
        &d("k.pub"),
        "--data",
        &d("frame"),
    ]);
    assert!(
        out.contains("OK: block") && out.contains("(trusted)"),
        "{out}"
    );
    let proof: Proof = serde_json::from_slice(&std::fs::read(d("p.json")).unwrap()).unwrap();
    assert_eq!(
        proof.block.pts,
        Some(1_500_000_000 + 1000 * 3600 * 1_000_000_000)
    );
    let signed = std::fs::read(d("signed.h4mk")).unwrap();
    let mut r = Reader::open(signed.as_slice()).unwrap();
    let block = r.read_block_at(proof.block.offset).unwrap();
    assert_eq!(std::fs::read(d("frame")).unwrap(), block.data);
    let o = h4mk(&["check-proof", &d("p.json"), "--trust", &d("other.pub")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout_and_err(&o).contains("which is not trusted"));

    // OpenSSL derives the same public key from h4mk's private key, and its own keys sign.
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            stdout_and_err(&o)
        );
        o.stdout
    };
    assert_eq!(
        openssl(&["pkey", "-in", &d("k"), "-pubout"]),
        std::fs::read(d("k.pub")).unwrap()
    );
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", &d("ossl.pem")]);
    openssl(&[
        "pkey",
        "-in",
        &d("ossl.pem"),
        "-pubout",
        "-out",
        &d("ossl.pub"),
    ]);
    h4mk_ok(&[
        "sign",
        &d("plain.h4mk"),
        "-k",
        &d("ossl.pem"),
        "-o",
        &d("ossl.h4mk"),
    ]);
    h4mk_ok(&["verify", &d("ossl.h4mk"), "--trust", &d("ossl.pub")]);
    let o = h4mk(&["verify", &d("ossl.h4mk"), "--trust", &d("k.pub")]);
    assert_eq!(o.status.code(), Some(1), "re-signed by another key");

    // A bad key file stops the muxer before anything is written, naming the file.
    std::fs::write(d("bad.pem"), "not a key").unwrap();
    let p = pipeline(&format!(
        "videotestsrc num-buffers=3 ! h4mkmux signing-key-file={} ! fakesink",
        d("bad.pem")
    ));
    let (e, _) = run_to_error(&p, 10);
    assert!(e.contains("bad.pem") && e.contains("signing key"), "{e}");
}

/// A signed live recording killed with SIGKILL: verify reports it unfinished and signed
/// through its last checkpoint, by the trusted key.
#[test]
fn a_killed_signed_recording_is_signed_through_its_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    h4mk_ok(&["keygen", "-o", &d("k")]);
    let mut child = gst_tool("gst-launch-1.0")
        .args(
            format!(
                "-q videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=30/1 \
                 ! x264enc tune=zerolatency key-int-max=15 speed-preset=ultrafast ! h264parse \
                 ! h4mkmux signing-key-file={} checkpoint-interval=250000000 ! filesink location={}",
                d("k"),
                d("rec.h4mk")
            )
            .split_whitespace(),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("gst-launch-1.0 starts");
    std::thread::sleep(std::time::Duration::from_millis(2000));
    child.kill().unwrap();
    child.wait().unwrap();
    let bytes = std::fs::read(d("rec.h4mk")).unwrap();
    let r = check(&bytes);
    assert!(codes(&r).contains(&Code::VeriAbsent), "{:?}", r.findings);
    assert!(
        codes(&r)
            .iter()
            .all(|c| matches!(c, Code::VeriAbsent | Code::ChunkTruncated)),
        "{:?}",
        r.findings
    );
    let s = r.signed.expect("signed through a checkpoint");
    assert!(!s.whole_file && s.blocks >= 15, "{s:?}");
    assert!(s.through <= r.verified_through + 12 + 192);
    let o = h4mk(&["verify", &d("rec.h4mk"), "--trust", &d("k.pub")]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout_and_err(&o);
    assert!(
        out.contains(&format!("(trusted): blocks 0 to {}", s.blocks - 1))
            && out.contains("(through its last signed checkpoint)")
            && !out.contains("sign."),
        "{out}"
    );
    // Repaired: complete and unsigned (META no longer names the signer); signed again by its
    // owner, trusted, every block of the repair kept.
    h4mk_ok(&["repair", &d("rec.h4mk"), "-o", &d("fixed.h4mk")]);
    let fixed = std::fs::read(d("fixed.h4mk")).unwrap();
    let r = check(&fixed);
    assert!(r.is_ok() && r.signed.is_none(), "{:?}", r.findings);
    let o = h4mk(&["verify", &d("fixed.h4mk"), "--trust", &d("k.pub")]);
    assert!(stdout_and_err(&o).contains("sign.absent"));
    h4mk_ok(&["sign", &d("fixed.h4mk"), "-k", &d("k"), "--in-place"]);
    let out = h4mk_ok(&["verify", &d("fixed.h4mk"), "--trust", &d("k.pub")]);
    assert!(out.contains("the whole file (VERI signed)"), "{out}");
    assert!(check(&std::fs::read(d("fixed.h4mk")).unwrap()).blocks >= s.blocks);
}

use gsth4::format::proof::{Proof, Which, check_proof, prove};
use gsth4::format::reader::Reader;

/// `tracks` tracks of `per_track` blocks, signed with key 1, checkpoints every 8 blocks.
fn signed_file(tracks: u32, per_track: u64) -> Vec<u8> {
    let mut m: Meta = sample_meta(tracks, policy());
    m.signer = Some(Signer::of(&key(1).public()));
    let mut w = Writer::new(Vec::new(), &m).unwrap();
    w.sign_with(key(1)).unwrap();
    for b in sample_blocks(tracks, per_track, 11) {
        w.write_block(&b.spec, &b.data).unwrap();
    }
    w.finish().unwrap().0
}

/// 100 random blocks proven from a signed file and checked on their own: each gives back the
/// block's own bytes, ordinal and signer; a proof whose block was edited (CRC rewritten) fails,
/// and so does one for a file whose block was edited.
#[test]
fn random_blocks_proven_and_checked_without_the_file() {
    let f = signed_file(3, 100);
    let blocks = common::read_blocks(&f);
    let mut r = Reader::open(f.as_slice()).unwrap();
    let mut rng = common::Rng(99);
    for _ in 0..100 {
        let n = rng.below(blocks.len() as u64);
        let p = prove(&mut r, Which::Ordinal(n)).unwrap();
        // Through JSON, as handed to someone else.
        let p: Proof = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        let c = check_proof(&p).unwrap();
        let (index, want) = &blocks[n as usize];
        assert_eq!(
            (c.ordinal, c.header.index, c.header.track),
            (n, *index, want.spec.track)
        );
        assert_eq!(c.data, want.data, "block {n}");
        assert_eq!(c.signer, Some(key(1).public()));
        assert_eq!(c.tree_size, 300);
    }
    // By track and time: the block of track 1 presenting at 2.01 s (PTS 2.000000001 s).
    let p = prove(
        &mut r,
        Which::Time {
            track: 1,
            time: 2_010_000_000,
        },
    )
    .unwrap();
    assert_eq!((p.block.track, p.block.pts), (1, Some(2_000_000_001)));
    assert_eq!(p.block.ordinal, 50 * 3 + 1);
    let e = prove(&mut r, Which::Ordinal(300)).unwrap_err();
    assert!(e.message.contains("there is no block 300"), "{e}");

    // An edited block, CRC rewritten, in the proof: its leaf no longer leads to the root.
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut p = prove(&mut r, Which::Ordinal(42)).unwrap();
    let mut chunk = engine.decode(&p.block.chunk).unwrap();
    let last = chunk.len() - 1;
    chunk[last] ^= 0x01;
    reseal(&mut chunk, 0);
    p.block.chunk = engine.encode(&chunk);
    let e = check_proof(&p).unwrap_err();
    assert_eq!(e.code, Code::BlockHashMismatch, "{e}");
    // A signature moved to another root, or altered.
    let good = prove(&mut r, Which::Ordinal(7)).unwrap();
    let mut p = good.clone();
    p.inclusion.root = p.inclusion.audit_path[0].clone();
    assert!(check_proof(&p).is_err());
    let mut p = good.clone();
    let sig = p.signature.as_mut().unwrap();
    let first = if sig.signature.starts_with('0') {
        "1"
    } else {
        "0"
    };
    sig.signature.replace_range(..1, first);
    assert_eq!(check_proof(&p).unwrap_err().code, Code::SignInvalid);

    // A file whose block was edited (CRC rewritten) gives no proof for it.
    let mut edited = f.clone();
    let map = chunks(&f);
    let (at, _) = map
        .iter()
        .filter(|c| &c.1 == b"CORE")
        .nth(42)
        .copied()
        .unwrap();
    edited[at + 12 + 40] ^= 0x01;
    reseal(&mut edited, at);
    let mut r = Reader::open(edited.as_slice()).unwrap();
    let e = prove(&mut r, Which::Ordinal(42)).unwrap_err();
    assert_eq!(e.code, Code::BlockHashMismatch, "{e}");
    assert!(prove(&mut r, Which::Ordinal(41)).is_ok());
}

/// A proof holds ⌈log2 n⌉ hashes at most: 0 for one block, 20 for 900,000 (ten hours at 25
/// blocks a second).
#[test]
fn proof_size_grows_with_log_n() {
    for (tracks, per_track) in [(1, 1), (1, 2), (1, 3), (2, 50), (3, 333)] {
        let f = signed_file(tracks, per_track);
        let n = u64::from(tracks) * per_track;
        let want = 64 - (n - 1).leading_zeros() as usize; // ⌈log2 n⌉
        let mut r = Reader::open(f.as_slice()).unwrap();
        let longest = (0..n)
            .map(|i| {
                prove(&mut r, Which::Ordinal(i))
                    .unwrap()
                    .inclusion
                    .audit_path
                    .len()
            })
            .max()
            .unwrap();
        assert_eq!(longest, if n == 1 { 0 } else { want }, "{n} blocks");
    }
}

/// Ten hours at 25 blocks a second: 900,000 blocks of 16 bytes, signed; one proof holds 20
/// hashes (about 2.9 KB of JSON with the block) and checks on its own.
#[test]
fn a_proof_from_a_ten_hour_recording() {
    use gsth4::format::block::BlockFlags;
    use gsth4::format::writer::NewBlock;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ten-hours.h4mk");
    let mut m: Meta = sample_meta(1, CheckpointPolicy::default());
    m.signer = Some(Signer::of(&key(1).public()));
    let out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut w = Writer::new(out, &m).unwrap();
    w.sign_with(key(1)).unwrap();
    let blocks = 10 * 3600 * 25u64;
    for i in 0..blocks {
        let b = NewBlock {
            track: 0,
            masked: false,
            flags: BlockFlags(if i % 50 == 0 { BlockFlags::KEYFRAME } else { 0 }),
            pts: Some(i * 40_000_000),
            dts: None,
            duration: Some(40_000_000),
            clipping: None,
        };
        w.write_block(&b, &i.to_le_bytes().repeat(2)).unwrap();
    }
    w.finish().unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mut r = Reader::open(gsth4::format::source::IoSource::new(file)).unwrap();
    let p = prove(
        &mut r,
        Which::Time {
            track: 0,
            time: 5 * 3600 * 1_000_000_000 + 1,
        },
    )
    .unwrap();
    assert_eq!(p.block.ordinal, blocks / 2);
    assert_eq!(p.inclusion.audit_path.len(), 20);
    let json = serde_json::to_string_pretty(&p).unwrap();
    println!(
        "a proof from a 10-hour recording: {} bytes of JSON, {} hashes",
        json.len(),
        20
    );
    assert!(json.len() < 3500, "{} bytes", json.len());
    let c = check_proof(&p).unwrap();
    assert_eq!(c.data, (blocks / 2).to_le_bytes().repeat(2));
    assert_eq!((c.tree_size, c.signer), (blocks, Some(key(1).public())));
}

/// VERI's signature altered (its CRC rewritten): named, and the file counts as signed through its
/// last checkpoint only, which trust refuses for a finished file.
#[test]
fn an_altered_last_signature_falls_back_to_the_checkpoint_before() {
    let mut f = file(Some(key(1)));
    let map = chunks(&f);
    let (veri_sign, _) = map[map.len() - 2];
    assert_eq!(&f[veri_sign..veri_sign + 4], b"SIGN");
    f[veri_sign + 12 + 130] ^= 0x40;
    reseal(&mut f, veri_sign);
    let r = check(&f);
    assert_eq!(codes(&r), [Code::SignInvalid]);
    assert_eq!(r.findings[0].offset, Some(veri_sign as u64));
    assert!(
        r.findings[0].message.contains("does not verify"),
        "{}",
        r.findings[0]
    );
    let s = r.signed.unwrap();
    assert!(!s.whole_file);
    assert_eq!(s.blocks, 40, "the last HASH covers every block");
    let t = trust_findings(&r, &[key(1).public()]);
    assert_eq!(
        t.iter().map(|f| f.code).collect::<Vec<_>>(),
        [Code::SignAbsent]
    );
    assert!(t[0].message.contains("VERI is not signed"), "{}", t[0]);
}
