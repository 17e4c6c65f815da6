//! Serves a live H4MK stream over HTTP while it is recorded. Every GET is answered with a
//! response header, then multifdsink sends the stream header (file header and META, from the
//! caps of `h4mkmux streamable=true`) and the stream from the latest keyframe on; the recording
//! is teed to a file. A viewer may connect at any time:
//!
//!   gst-launch-1.0 souphttpsrc location=http://127.0.0.1:PORT/ is-live=true ! h4mkdemux ...
//!   curl -s http://127.0.0.1:PORT/ -o joined.h4mk; h4mk verify joined.h4mk
//!
//! cargo run --release --example http_live -- PORT SECONDS RECORDING.h4mk

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

mod live;

const RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: video/x-h4mk\r\n\
    Cache-Control: no-cache\r\nConnection: close\r\n\r\n";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, seconds, recording] = args.as_slice() else {
        eprintln!("usage: http_live PORT SECONDS RECORDING.h4mk");
        std::process::exit(2);
    };
    let seconds: f64 = seconds.parse()?;
    gst::init()?;
    gsth4::plugin_register_static()?;

    let pipeline = gst::parse::launch(&format!(
        "videotestsrc is-live=true pattern=ball \
           ! video/x-raw,width=320,height=240,framerate=30/1 \
           ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! h264parse \
           ! queue ! mux.video_0 \
         audiotestsrc is-live=true freq=330 ! audio/x-raw,rate=48000 ! opusenc ! queue ! mux.audio_0 \
         h4mkmux name=mux streamable=true ! tee name=t \
           t. ! queue ! filesink location=\"{recording}\" \
           t. ! queue ! multifdsink name=net sync-method=latest-keyframe"
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let net = pipeline.by_name("net").ok_or("no multifdsink")?;
    // The clients' sockets: multifdsink leaves closing one to the application.
    let clients = Arc::new(Mutex::new(Vec::<i32>::new()));
    let served = clients.clone();
    net.connect("client-fd-removed", false, move |values| {
        if let Ok(fd) = values[1].get::<i32>() {
            served.lock().unwrap().retain(|c| *c != fd);
            // SAFETY: the socket was handed to multifdsink by this program and is now its own
            // again; nothing else holds it.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        None
    });

    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    // Playing before the first client can be handed to multifdsink.
    pipeline.set_state(gst::State::Playing)?;
    println!("serving http://127.0.0.1:{port}/ for {seconds} s, recording to {recording}");
    let sink = net.clone();
    let added = clients.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (sink, added) = (sink.clone(), added.clone());
            std::thread::spawn(move || match answer(client) {
                Ok(Some(stream)) => {
                    let fd = stream.into_raw_fd();
                    added.lock().unwrap().push(fd);
                    sink.emit_by_name::<()>("add", &[&fd]);
                }
                Ok(None) => {}
                Err(e) => eprintln!("http_live: a client: {e}"),
            });
        }
    });

    let result = live::record_for(&pipeline, seconds, |_| {});
    // EOS reaches multifdsink when the last buffer is queued for the clients, not sent: each
    // client is removed once it has been sent everything, which closes its connection and
    // ends its stream; a client that takes longer than 10 s is cut off.
    let open: Vec<i32> = clients.lock().unwrap().clone();
    for fd in open {
        net.emit_by_name::<()>("remove-flush", &[&fd]);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while net.property::<u32>("num-handles") > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    pipeline.set_state(gst::State::Null)?;
    result?;
    println!("recorded {recording}");
    Ok(())
}

/// Reads a request's head and answers it: a GET gets the response header and its connection
/// back, to be handed to multifdsink; anything else an error status.
fn answer(mut client: TcpStream) -> std::io::Result<Option<TcpStream>> {
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || client.read(&mut byte)? == 0 {
            return Ok(None);
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"GET ") {
        client.write_all(b"HTTP/1.0 405 Method Not Allowed\r\nAllow: GET\r\n\r\n")?;
        return Ok(None);
    }
    client.write_all(RESPONSE)?;
    client.set_read_timeout(None)?;
    Ok(Some(client))
}
