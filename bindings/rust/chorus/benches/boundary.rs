//! The cost of calls through the C ABI from Rust next to the same calls made directly in Go,
//! in the same process, on the same two clients (a group on an in-memory network), rounds
//! interleaved so that both sides share the machine's load. Run by `make bindings-bench`,
//! which links the library built with the `chorus_bench` tag (its two Go-side helpers,
//! `chorus_bench_go_*`, declared below). Plain `harness = false` bench: stable, no deps.
//!
//! CHORUS_BENCH_ROUNDS (default 11) rounds of CHORUS_BENCH_N (default 100) calls each.

use chorus::{Client, Event, MemoryConfig, MemoryNetwork, Options};
use std::ffi::CString;
use std::os::raw::{c_char, c_int};
use std::sync::mpsc;
use std::time::{Duration, Instant};

extern "C" {
    fn chorus_bench_go_send(c: u64, group_id: *const c_char, n: c_int) -> i64;
    fn chorus_bench_go_send_receive(sender: u64, group_id: *const c_char, receiver: u64, n: c_int) -> i64;
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn min(v: &[f64]) -> f64 {
    v.iter().cloned().fold(f64::INFINITY, f64::min)
}

fn us(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let rounds = env("CHORUS_BENCH_ROUNDS", 11);
    let n = env("CHORUS_BENCH_N", 100);
    let dir = std::env::temp_dir().join(format!("chorus-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let net = MemoryNetwork::new(&MemoryConfig { history: true, ..Default::default() }).unwrap();
    let alice = Client::open(dir.join("alice"), &net.join("alice").unwrap(), &Options { burst_spread: Some(Duration::ZERO), ..Default::default() }).unwrap();
    let bob = Client::open(dir.join("bob"), &net.join("bob").unwrap(), &Options { burst_spread: Some(Duration::ZERO), ..Default::default() }).unwrap();
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
    let gid = CString::new(g.as_str()).unwrap();
    let (ha, hb) = (alice.raw_handle(), bob.raw_handle());

    // Fixed cost of a call: an empty call and a call with a JSON result.
    let t0 = Instant::now();
    for _ in 0..100_000 {
        chorus::abi_version();
    }
    let empty = us(t0.elapsed(), 100_000);
    let t0 = Instant::now();
    for _ in 0..10_000 {
        alice.account().unwrap();
    }
    let account = us(t0.elapsed(), 10_000);

    let stream = bob.events().unwrap();
    let (tx, rx) = mpsc::sync_channel(4096);
    let mut send = (Vec::new(), Vec::new());
    let mut recv = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        // Go: Send.
        let ns = unsafe { chorus_bench_go_send(ha, gid.as_ptr(), n as c_int) };
        assert!(ns > 0);
        send.0.push(ns as f64 / 1e3 / n as f64);
        // Rust: send_text through the ABI.
        let t0 = Instant::now();
        for _ in 0..n {
            alice.send_text(&g, "benchmark message").unwrap();
        }
        send.1.push(us(t0.elapsed(), n));
        thread_settle(&stream);

        // Go: Send + MessageReceived from a channel.
        let ns = unsafe { chorus_bench_go_send_receive(ha, gid.as_ptr(), hb, n as c_int) };
        assert!(ns > 0);
        recv.0.push(ns as f64 / 1e3 / n as f64);
        thread_settle(&stream);
        // Rust: send_text + next_event.
        let t0 = Instant::now();
        for _ in 0..n {
            alice.send_text(&g, "benchmark message").unwrap();
            loop {
                if let Some(Event::MessageReceived(_)) = stream.next_event(Duration::from_secs(10)).unwrap() {
                    break;
                }
            }
        }
        recv.1.push(us(t0.elapsed(), n));
        // Rust: send_text + callback.
        let tx = tx.clone();
        let sub = bob
            .subscribe(move |ev| {
                if let Event::MessageReceived(_) = ev {
                    let _ = tx.send(());
                }
            })
            .unwrap();
        let t0 = Instant::now();
        for _ in 0..n {
            alice.send_text(&g, "benchmark message").unwrap();
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        recv.2.push(us(t0.elapsed(), n));
        drop(sub);
        while rx.try_recv().is_ok() {}
        thread_settle(&stream);
    }
    println!("## Rust -> C ABI -> Go vs the same call in Go ({rounds} interleaved rounds of {n} calls)");
    println!();
    println!("| call | Go µs/op median (min) | Rust µs/op median (min) | ratio of medians (of mins) | 1.2 x Go + 20 µs |");
    println!("|---|---:|---:|---:|---|");
    println!("| empty call (`chorus_abi_version`) | – | {empty:.2} | – | – |");
    println!("| `account` (call + JSON result; Go: ~0.01) | – | {account:.2} | – | – |");
    let row = |name: &str, go: &[f64], rust: &[f64]| {
        let (gm, rm, gn, rn) = (median(go), median(rust), min(go), min(rust));
        let verdict = |g: f64, r: f64| if r <= 1.2 * g + 20.0 { "met" } else { "not met" };
        println!(
            "| {name} | {gm:.0} ({gn:.0}) | {rm:.0} ({rn:.0}) | {:.2} ({:.2}) | {} by medians, {} by mins |",
            rm / gm,
            rn / gn,
            verdict(gm, rm),
            verdict(gn, rn)
        );
    };
    row("send (text)", &send.0, &send.1);
    row("send + received event, `next_event`", &recv.0, &recv.1);
    row("send + received event, callback", &recv.0, &recv.2);
    drop(stream);
    drop((alice, bob));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Lets the receiver catch up and drains the stream between measurements.
fn thread_settle(stream: &chorus::EventStream) {
    std::thread::sleep(Duration::from_millis(50));
    while stream.next_event(Duration::from_millis(50)).unwrap().is_some() {}
}
