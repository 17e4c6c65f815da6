//! Merkle leaf hashing on worker threads, so that muxing is not bound to one core's SHA-256
//! speed. Jobs hold references to the input buffers, not copies.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::format::merkle::{Hash, leaf_hash};
use crate::format::writer::BLOCK_HEAD_LEN;

struct Job {
    leaf: u64,
    head: [u8; BLOCK_HEAD_LEN],
    payload: Option<gst::Buffer>,
}

pub struct HashPool {
    jobs: Option<Sender<Job>>,
    results: Receiver<(u64, Hash)>,
    workers: Vec<JoinHandle<()>>,
    outstanding: usize,
}

impl HashPool {
    pub fn new(threads: usize) -> Self {
        let (jobs, job_rx) = channel::<Job>();
        let (result_tx, results) = channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..threads.max(1))
            .map(|i| {
                let rx = job_rx.clone();
                let tx = result_tx.clone();
                std::thread::Builder::new()
                    .name(format!("h4mkmux-hash-{i}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            let Ok(job) = job else { return };
                            let hash = match &job.payload {
                                Some(p) => match p.map_readable() {
                                    Ok(map) => leaf_hash(&[&job.head, &map]),
                                    Err(_) => return,
                                },
                                None => leaf_hash(&[&job.head]),
                            };
                            if tx.send((job.leaf, hash)).is_err() {
                                return;
                            }
                        }
                    })
                    .expect("spawning a hash thread")
            })
            .collect();
        HashPool {
            jobs: Some(jobs),
            results,
            workers,
            outstanding: 0,
        }
    }

    /// Queues the leaf hash of `head` followed by `payload`'s bytes.
    pub fn submit(&mut self, leaf: u64, head: [u8; BLOCK_HEAD_LEN], payload: Option<gst::Buffer>) {
        if let Some(jobs) = &self.jobs
            && jobs
                .send(Job {
                    leaf,
                    head,
                    payload,
                })
                .is_ok()
        {
            self.outstanding += 1;
        }
    }

    /// The hashes finished so far, without waiting.
    pub fn ready(&mut self) -> Vec<(u64, Hash)> {
        let done: Vec<_> = self.results.try_iter().collect();
        self.outstanding -= done.len();
        done
    }

    /// Every outstanding hash; `None` if a worker died.
    pub fn wait_all(&mut self) -> Option<Vec<(u64, Hash)>> {
        let mut done = Vec::with_capacity(self.outstanding);
        while self.outstanding > 0 {
            done.push(self.results.recv().ok()?);
            self.outstanding -= 1;
        }
        Some(done)
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_the_inline_leaf_hash() {
        gst::init().unwrap();
        let mut pool = HashPool::new(2);
        let mut want = Vec::new();
        for i in 0..100u64 {
            let head = [i as u8; BLOCK_HEAD_LEN];
            let data = vec![(i * 3) as u8; (i * 97 % 5000) as usize];
            want.push((i, leaf_hash(&[&head, &data])));
            let payload = (!data.is_empty()).then(|| gst::Buffer::from_slice(data));
            pool.submit(i, head, payload);
        }
        let mut got = pool.ready();
        got.extend(pool.wait_all().unwrap());
        got.sort();
        assert_eq!(got, want);
    }
}
