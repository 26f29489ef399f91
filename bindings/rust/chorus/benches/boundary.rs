//! The cost of calls through the C ABI from Rust (make bindings-bench), next to the same
//! calls in Go (bindings/c/bench_test.go): the same setup, two clients in a group on an
//! in-memory network. Plain `harness = false` bench (stable Rust, no dependencies).
//!
//! CHORUS_BENCH_ITERS sets the iterations per measurement (default 2000).

use chorus::{Client, Event, MemoryConfig, MemoryNetwork, Options};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn measure(name: &str, iters: u32, mut f: impl FnMut()) {
    for _ in 0..iters / 10 {
        f(); // warm-up
    }
    let t0 = Instant::now();
    for _ in 0..iters {
        f();
    }
    let per = t0.elapsed() / iters;
    println!("{name:<40} {iters:>8} {:>12.1} µs/op", per.as_secs_f64() * 1e6);
}

fn main() {
    let iters: u32 = std::env::var("CHORUS_BENCH_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let dir = std::env::temp_dir().join(format!("chorus-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let net = MemoryNetwork::new(&MemoryConfig { history: true, ..Default::default() }).unwrap();
    let alice = Client::open(dir.join("alice"), &net.join("alice").unwrap(), &Options::default()).unwrap();
    let bob = Client::open(dir.join("bob"), &net.join("bob").unwrap(), &Options::default()).unwrap();
    alice.create_account().unwrap();
    let bob_id = bob.create_account().unwrap().id;
    alice.add_contact(&bob.contact_code().unwrap()).unwrap();
    bob.add_contact(&alice.contact_code().unwrap()).unwrap();
    let g = alice.create_group("bench", "", &[&bob_id]).unwrap();
    loop {
        if let Some(Event::GroupJoined { .. }) = bob.next_event(Duration::from_secs(10)).unwrap() {
            break;
        }
    }
    let stream = bob.events().unwrap();

    println!("{:<40} {:>8} {:>15}", "call (Rust -> C ABI -> Go)", "iters", "time");
    measure("abi_version (empty call)", iters * 10, || {
        chorus::abi_version();
    });
    measure("account (call + JSON result)", iters, || {
        alice.account().unwrap();
    });
    measure("send_text", iters, || {
        alice.send_text(&g, "benchmark message").unwrap();
    });
    // Drain what the sends produced before measuring receipts.
    while stream.next_event(Duration::from_millis(200)).unwrap().is_some() {}
    measure("send_text + next_event (received)", iters, || {
        alice.send_text(&g, "benchmark message").unwrap();
        loop {
            if let Some(Event::MessageReceived(_)) = stream.next_event(Duration::from_secs(10)).unwrap() {
                break;
            }
        }
    });
    drop(stream);
    let (tx, rx) = mpsc::sync_channel(1024);
    let sub = bob
        .subscribe(move |ev| {
            if let Event::MessageReceived(_) = ev {
                let _ = tx.send(());
            }
        })
        .unwrap();
    measure("send_text + callback (received)", iters, || {
        alice.send_text(&g, "benchmark message").unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    });
    drop(sub);
    drop((alice, bob));
    let _ = std::fs::remove_dir_all(&dir);
}
