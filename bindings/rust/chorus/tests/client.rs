//! End-to-end tests of the Rust bindings over the C ABI: real go-waku nodes on loopback and
//! the in-memory network.

use chorus::{
    Client, Content, DeliveryStatus, ErrorKind, Event, GroupId, GroupStatus, MemoryConfig, MemoryNetwork, MessageFilter,
    Options, Transport, WakuConfig,
};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!("chorus-rs-{}-{}-{}", name, std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, sub: &str) -> PathBuf {
        self.0.join(sub)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const WAIT: Duration = Duration::from_secs(30);

/// Polls cond until it holds, syncing the clients (history catch-up) now and then.
fn eventually(what: &str, clients: &[&Client], mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    let mut last_sync = Instant::now();
    while !cond() {
        if Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        if last_sync.elapsed() > Duration::from_millis(500) {
            for c in clients {
                let _ = c.sync();
            }
            last_sync = Instant::now();
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn has_text(c: &Client, g: &GroupId, text: &str) -> bool {
    c.messages(g, &MessageFilter::default())
        .map(|ms| ms.iter().any(|m| m.content == Content::text(text)))
        .unwrap_or(false)
}

/// Reads the client's own stream until an event matches.
fn wait_event(c: &Client, what: &str, mut f: impl FnMut(&Event) -> bool) -> Event {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            panic!("timed out waiting for event: {what}");
        }
        match c.next_event(left.min(Duration::from_millis(500))) {
            Ok(Some(ev)) if f(&ev) => return ev,
            Ok(_) => {
                let _ = c.sync();
            }
            Err(e) => panic!("next_event while waiting for {what}: {e}"),
        }
    }
}

fn open(dir: &TempDir, name: &str, t: &Transport) -> Client {
    let opts = Options { device_name: Some(name.to_string()), device_platform: Some("rust-test".into()), burst_spread: Some(Duration::ZERO), ..Default::default() };
    Client::open(dir.path(name), t, &opts).unwrap()
}

fn befriend(a: &Client, b: &Client) {
    a.add_contact(&b.contact_code().unwrap()).unwrap();
    b.add_contact(&a.contact_code().unwrap()).unwrap();
}

/// The lifecycle both transports run: a group, messages both ways, a third member added and
/// removed (reading nothing after), a second device linked and revoked.
fn lifecycle(transport: &dyn Fn(&str) -> Transport) {
    let dir = TempDir::new("lifecycle");
    let alice = open(&dir, "alice", &transport("alice"));
    let bob = open(&dir, "bob", &transport("bob"));
    let carol = open(&dir, "carol", &transport("carol"));
    let me = alice.create_account().unwrap();
    assert!(me.holder && me.id.starts_with("0x04"));
    let bob_id = bob.create_account().unwrap().id;
    let carol_id = carol.create_account().unwrap().id;
    befriend(&alice, &bob);
    befriend(&alice, &carol);

    let g = alice.create_group("friends", "alice, bob and others", &[&bob_id]).unwrap();
    wait_event(&bob, "bob joins", |e| matches!(e, Event::GroupJoined { group, .. } if *group == g));
    let id = alice.send(&g, &Content::text("hello bob")).unwrap();
    let ev = wait_event(&bob, "bob receives", |e| matches!(e, Event::MessageReceived(m) if m.content == Content::text("hello bob")));
    if let Event::MessageReceived(m) = ev {
        assert_eq!(m.id, id);
        assert_eq!(m.sender, me.id);
        assert_eq!(m.status, DeliveryStatus::Received);
        assert!(!m.outgoing);
    }
    let reply = bob.send(&g, &Content::Reply { target: id.clone(), text: "hi alice".into() }).unwrap();
    eventually("alice reads bob's reply", &[&alice], || {
        alice.messages(&g, &MessageFilter::default()).unwrap().iter().any(|m| m.id == reply && matches!(&m.content, Content::Reply { target, text } if *target == id && text == "hi alice"))
    });
    let info = bob.group(&g).unwrap();
    assert_eq!((info.name.as_str(), info.status), ("friends", GroupStatus::Active));
    assert_eq!(info.members.len(), 2);

    // A third member joins, reads, is removed and reads nothing after.
    alice.add_members(&g, &[&carol_id]).unwrap();
    wait_event(&carol, "carol joins", |e| matches!(e, Event::GroupJoined { group, .. } if *group == g));
    alice.send_text(&g, "welcome carol").unwrap();
    eventually("carol reads", &[&carol], || has_text(&carol, &g, "welcome carol"));
    alice.remove_members(&g, &[&carol_id]).unwrap();
    wait_event(&carol, "carol removed", |e| matches!(e, Event::MembershipChanged { group, removed: true, .. } if *group == g));
    alice.send_text(&g, "carol has gone").unwrap();
    eventually("bob reads after the removal", &[&bob], || has_text(&bob, &g, "carol has gone"));
    bob.send_text(&g, "bob too").unwrap();
    eventually("alice reads bob", &[&alice], || has_text(&alice, &g, "bob too"));
    let _ = carol.sync();
    thread::sleep(Duration::from_millis(300));
    assert!(!has_text(&carol, &g, "carol has gone") && !has_text(&carol, &g, "bob too"), "carol read after her removal");
    assert_eq!(carol.group(&g).unwrap().status, GroupStatus::Removed);
    assert_eq!(carol.send_text(&g, "still here?").unwrap_err().kind(), ErrorKind::NotMember);

    // A second device of alice: linked, reads, revoked, reads nothing after.
    let laptop = open(&dir, "alice-laptop", &transport("alice-laptop"));
    assert_eq!(laptop.account().unwrap_err().kind(), ErrorKind::NoAccount);
    let code = laptop.link_code().unwrap();
    let laptop_id = alice.link_device(&code, "laptop").unwrap();
    wait_event(&laptop, "laptop linked", |e| matches!(e, Event::AccountLinked { account, .. } if *account == me.id));
    let acct = laptop.account().unwrap();
    assert!(!acct.holder);
    assert_eq!(acct.installation, laptop_id);
    let ins = alice.installations().unwrap();
    assert_eq!(ins.len(), 2);
    assert!(ins.iter().any(|i| i.id == laptop_id && i.name == "laptop" && !i.revoked && !i.current));
    eventually("laptop has the group", &[&laptop], || laptop.group(&g).is_ok());
    eventually("bob knows the laptop", &[&bob], || {
        bob.contacts().unwrap().iter().any(|c| c.id == me.id && c.installations.contains(&laptop_id))
    });
    bob.send_text(&g, "hello both devices").unwrap();
    eventually("the laptop reads bob", &[&laptop], || has_text(&laptop, &g, "hello both devices"));
    eventually("alice reads bob on her phone", &[&alice], || has_text(&alice, &g, "hello both devices"));

    alice.revoke_installation(&laptop_id).unwrap();
    assert!(alice.installations().unwrap().iter().any(|i| i.id == laptop_id && i.revoked));
    eventually("bob drops the laptop", &[&bob], || {
        bob.contacts().unwrap().iter().any(|c| c.id == me.id && !c.installations.contains(&laptop_id))
    });
    bob.send_text(&g, "after the revocation").unwrap();
    eventually("alice reads after the revocation", &[&alice], || has_text(&alice, &g, "after the revocation"));
    let _ = laptop.sync();
    thread::sleep(Duration::from_millis(300));
    assert!(!has_text(&laptop, &g, "after the revocation"), "the revoked laptop read a message");
}

#[test]
fn memory_lifecycle() {
    let net = MemoryNetwork::new(&MemoryConfig { history: true, ..Default::default() }).unwrap();
    lifecycle(&|name| net.join(name).unwrap());
}

#[test]
fn waku_lifecycle() {
    // A hub serving store (history) and four client nodes, all go-waku on 127.0.0.1.
    let hub = Transport::waku(&WakuConfig { store: true, store_path: Some(":memory:".into()), ..Default::default() }).unwrap();
    let addrs = hub.listen_addrs().unwrap();
    assert!(!addrs.is_empty() && addrs[0].contains("/p2p/"), "{addrs:?}");
    lifecycle(&|_name| {
        let t = Transport::waku(&WakuConfig { peers: addrs.clone(), store_peers: addrs.clone(), ..Default::default() }).unwrap();
        let deadline = Instant::now() + WAIT;
        while t.peer_count().unwrap() < 1 {
            assert!(Instant::now() < deadline, "no peer");
            thread::sleep(Duration::from_millis(20));
        }
        t
    });
}

#[test]
fn typed_errors() {
    let dir = TempDir::new("errors");
    let net = MemoryNetwork::new(&MemoryConfig { history: true, ..Default::default() }).unwrap();
    let alice = open(&dir, "alice", &net.join("alice").unwrap());
    let bob = open(&dir, "bob", &net.join("bob").unwrap());
    assert_eq!(alice.contact_code().unwrap_err().kind(), ErrorKind::NoAccount);
    alice.create_account().unwrap();
    let bob_id = bob.create_account().unwrap().id;
    assert_eq!(alice.create_account().unwrap_err().kind(), ErrorKind::AccountExists);

    let e = alice.add_contact("chorus1:AAAA").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadContactCode);
    assert!(!e.message().is_empty());
    assert_eq!(alice.add_contact("nonsense").unwrap_err().kind(), ErrorKind::BadContactCode);
    assert_eq!(alice.create_group("g", "", &[&bob_id]).unwrap_err().kind(), ErrorKind::UnknownContact);
    let unknown = GroupId("ab".repeat(32));
    assert_eq!(alice.send_text(&unknown, "x").unwrap_err().kind(), ErrorKind::UnknownGroup);
    assert_eq!(alice.group(&unknown).unwrap_err().kind(), ErrorKind::UnknownGroup);
    assert_eq!(alice.send_text(&GroupId("not hex".into()), "x").unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(alice.send_text(&unknown, "nul\0byte").unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(alice.link_device("chorus-link1:nope", "x").unwrap_err().kind(), ErrorKind::BadLinkCode);

    befriend(&alice, &bob);
    let g = alice.create_group("g", "", &[&bob_id]).unwrap();
    wait_event(&bob, "bob joins", |e| matches!(e, Event::GroupJoined { .. }));
    assert_eq!(bob.set_name(&g, "mine").unwrap_err().kind(), ErrorKind::NotAdmin);
    assert_eq!(bob.remove_members(&g, &[&alice.account().unwrap().id]).unwrap_err().kind(), ErrorKind::NotAdmin);
    let first = alice.send_text(&g, "first").unwrap();
    let empty_reaction = Content::Reaction { target: first, emoji: String::new(), removed: false };
    assert_eq!(alice.send(&g, &empty_reaction).unwrap_err().kind(), ErrorKind::InvalidContent);
    assert_eq!(alice.send(&g, &Content::Membership).unwrap_err().kind(), ErrorKind::InvalidContent);
    let me = alice.account().unwrap();
    assert_eq!(alice.revoke_installation(&me.installation).unwrap_err().kind(), ErrorKind::CurrentInstallation);
    assert_eq!(alice.revoke_installation(&"00".repeat(16).as_str().into()).unwrap_err().kind(), ErrorKind::UnknownInstallation);

    // A stream reports Closed once its client is gone; events queued before the close (bob may
    // still be receiving alice's "first") are delivered first.
    let stream = bob.events().unwrap();
    drop(bob);
    let err = loop {
        match stream.next_event(Duration::from_secs(5)) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("timeout: the stream never reported Closed"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::Closed);
}

/// Two clients in a group on a fresh in-memory network.
fn pair(dir: &TempDir) -> (MemoryNetwork, Client, Client, GroupId) {
    let net = MemoryNetwork::new(&MemoryConfig { history: true, ..Default::default() }).unwrap();
    let alice = open(dir, "alice", &net.join("alice").unwrap());
    let bob = open(dir, "bob", &net.join("bob").unwrap());
    alice.create_account().unwrap();
    let bob_id = bob.create_account().unwrap().id;
    befriend(&alice, &bob);
    let g = alice.create_group("load", "", &[&bob_id]).unwrap();
    wait_event(&bob, "bob joins", |e| matches!(e, Event::GroupJoined { .. }));
    (net, alice, bob, g)
}

#[test]
fn callback_receives_1000_events_from_8_threads() {
    let dir = TempDir::new("callback");
    let (_net, alice, bob, g) = pair(&dir);
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (s, d) = (seen.clone(), dropped.clone());
    let sub = bob
        .subscribe(move |ev| match ev {
            Event::MessageReceived(m) => {
                s.lock().unwrap().insert(m.id);
            }
            Event::EventsDropped { count } => {
                d.fetch_add(count as usize, Ordering::SeqCst);
            }
            _ => {}
        })
        .unwrap();
    let alice = Arc::new(alice);
    let mut sent = HashSet::new();
    let senders: Vec<_> = (0..8)
        .map(|t| {
            let (alice, g) = (alice.clone(), g.clone());
            thread::spawn(move || (0..125).map(|i| alice.send_text(&g, &format!("thread {t} message {i}")).unwrap()).collect::<Vec<_>>())
        })
        .collect();
    for s in senders {
        sent.extend(s.join().unwrap());
    }
    assert_eq!(sent.len(), 1000);
    eventually("1000 events through the callback", &[], || seen.lock().unwrap().len() >= 1000 || dropped.load(Ordering::SeqCst) > 0);
    assert_eq!(dropped.load(Ordering::SeqCst), 0, "events dropped");
    assert_eq!(*seen.lock().unwrap(), sent);
    drop(sub);
}

#[test]
fn drop_while_events_flow() {
    let dir = TempDir::new("drop");
    let (_net, alice, bob, g) = pair(&dir);
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let sub = bob
        .subscribe(move |ev| {
            if matches!(ev, Event::MessageReceived(_)) {
                c.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(1)); // a callback that takes a while
            }
        })
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let alice = Arc::new(alice);
    let sender = {
        let (alice, g, stop) = (alice.clone(), g.clone(), stop.clone());
        thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                alice.send_text(&g, &format!("flow {n}")).unwrap();
                n += 1;
            }
            n
        })
    };
    eventually("events flow", &[], || count.load(Ordering::SeqCst) >= 20);
    // Another reader blocked in next_event on bob's stream while bob goes away.
    let bob = Arc::new(bob);
    let stream = bob.events().unwrap();
    let reader = thread::spawn(move || loop {
        match stream.next_event(Duration::from_secs(30)) {
            Ok(_) => continue,
            Err(e) => return e.kind(),
        }
    });
    // The client first, its callback subscription after: no deadlock, no callback after.
    drop(Arc::try_unwrap(bob).ok().expect("only reference"));
    assert_eq!(reader.join().unwrap(), ErrorKind::Closed);
    drop(sub);
    let after = count.load(Ordering::SeqCst);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(count.load(Ordering::SeqCst), after, "callback ran after its subscription was dropped");
    stop.store(true, Ordering::SeqCst);
    let n = sender.join().unwrap();
    assert!(n >= 20);
    // Alice is unaffected.
    alice.send_text(&g, "still fine").unwrap();
}

#[test]
fn subscription_dropped_inside_its_callback() {
    let dir = TempDir::new("inside");
    let (_net, alice, bob, g) = pair(&dir);
    let slot: Arc<Mutex<Option<chorus::Subscription>>> = Arc::new(Mutex::new(None));
    let calls = Arc::new(AtomicUsize::new(0));
    let (s, c) = (slot.clone(), calls.clone());
    let sub = bob
        .subscribe(move |_ev| {
            c.fetch_add(1, Ordering::SeqCst);
            drop(s.lock().unwrap().take()); // unsubscribes from inside: must not deadlock
        })
        .unwrap();
    *slot.lock().unwrap() = Some(sub);
    alice.send_text(&g, "one").unwrap();
    alice.send_text(&g, "two").unwrap();
    eventually("bob has both", &[&bob], || has_text(&bob, &g, "two"));
    thread::sleep(Duration::from_millis(100));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(slot.lock().unwrap().is_none());
}

#[test]
fn types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Client>();
    check::<Transport>();
    check::<MemoryNetwork>();
    check::<chorus::Subscription>();
    check::<chorus::EventStream>();
    check::<chorus::Error>();
    assert_eq!(chorus::abi_version(), 1);
}

#[test]
fn go_panic_is_recovered_at_the_boundary() {
    // A bad out pointer makes the Go side fault while writing the result: the runtime turns
    // the fault into a panic, which the boundary recovers into CHORUS_ERR_INTERNAL.
    let dir = TempDir::new("panic");
    let net = MemoryNetwork::new(&MemoryConfig::default()).unwrap();
    let alice = open(&dir, "alice", &net.join("alice").unwrap());
    alice.create_account().unwrap();
    let mut err: *mut std::os::raw::c_char = std::ptr::null_mut();
    let bad = 8usize as *mut *mut std::os::raw::c_char;
    let code = unsafe { chorus_sys::chorus_account(alice.raw_handle(), bad, &mut err) };
    assert_eq!(code, chorus_sys::CHORUS_ERR_INTERNAL);
    assert!(!err.is_null());
    let msg = unsafe { std::ffi::CStr::from_ptr(err) }.to_string_lossy().into_owned();
    unsafe { chorus_sys::chorus_free(err as *mut std::os::raw::c_void) };
    assert!(msg.contains("panic"), "{msg}");
    // The client still works.
    assert!(alice.account().unwrap().holder);
    // An unknown handle is a typed error, not a crash.
    let code = unsafe { chorus_sys::chorus_sync(u64::MAX, std::ptr::null_mut()) };
    assert_eq!(code, chorus_sys::CHORUS_ERR_INVALID_HANDLE);
}

#[test]
fn review10_next_event_long_timeout_waits() {
    // Review 10: chorus_next_event turns timeout_ms into a Go duration with
    // time.Duration(ms) * time.Millisecond, which overflows past about 292 years
    // (9_223_372_036_854 ms) to a negative duration: the call returns CHORUS_ERR_TIMEOUT at
    // once. EventStream::next_event maps a timeout too large for an i64 of milliseconds
    // (Duration::MAX, the idiom for "wait without limit") to i64::MAX, so it returns
    // Ok(None) at once instead of waiting, and a loop on it spins. A waiting call must wait.
    let dir = TempDir::new("longwait");
    let net = MemoryNetwork::new(&MemoryConfig::default()).unwrap();
    let alice = open(&dir, "alice", &net.join("alice").unwrap());
    alice.create_account().unwrap();
    let mut failed = Vec::new();
    for (what, timeout) in [("Duration::MAX", Duration::MAX), ("10^13 ms (317 years)", Duration::from_millis(10_000_000_000_000))] {
        let stream = alice.events().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let t0 = Instant::now();
        thread::spawn(move || {
            let r = stream.next_event(timeout).map(|e| e.is_some());
            let _ = tx.send((r, t0.elapsed()));
        });
        if let Ok((r, after)) = rx.recv_timeout(Duration::from_secs(1)) {
            failed.push(format!("next_event({what}) returned {r:?} after {after:?} on an idle stream"));
        }
    }
    assert!(failed.is_empty(), "want each to wait: {failed:?}");
}

#[test]
fn review10_subscriptions_dropped_inside_each_others_callbacks() {
    // Review 10: chorus.h lets a callback call any chorus_* function, and
    // chorus_subscription_close of another callback subscription waits until that
    // subscription's callback has returned. Two callbacks that each close the other's
    // subscription (both running: one event reaches both) wait for each other for good.
    // Want: both drops return (e.g. a close from inside any callback does not wait for a
    // callback that is itself inside a close).
    let dir = TempDir::new("mutual");
    let (_net, alice, bob, g) = pair(&dir);
    type Slot = Arc<Mutex<Option<chorus::Subscription>>>;
    let (slot1, slot2): (Slot, Slot) = (Arc::new(Mutex::new(None)), Arc::new(Mutex::new(None)));
    let (tx, rx) = std::sync::mpsc::channel::<&'static str>();
    let entered = Arc::new(AtomicUsize::new(0));
    let make = |other: Slot, name: &'static str, tx: std::sync::mpsc::Sender<&'static str>| {
        let fired = AtomicBool::new(false);
        let entered = entered.clone();
        move |ev: Event| {
            if !matches!(ev, Event::MessageReceived(_)) || fired.swap(true, Ordering::SeqCst) {
                return;
            }
            entered.fetch_add(1, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(200)); // both callbacks are running now
            let sub = other.lock().unwrap().take();
            drop(sub); // closes the other subscription
            let _ = tx.send(name);
        }
    };
    let s1 = bob.subscribe(make(slot2.clone(), "first", tx.clone())).unwrap();
    let s2 = bob.subscribe(make(slot1.clone(), "second", tx)).unwrap();
    *slot1.lock().unwrap() = Some(s1);
    *slot2.lock().unwrap() = Some(s2);
    alice.send_text(&g, "both").unwrap();
    let mut done = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while done.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(name) => done.push(name),
            Err(_) => break,
        }
    }
    // On failure the two callback threads stay blocked; the test process exits anyway.
    let entered = entered.load(Ordering::SeqCst);
    assert_eq!(entered, 2, "callbacks that received the message");
    assert_eq!(done.len(), 2, "of {entered} callbacks each dropping the other's subscription, those that returned within 10 s: {done:?}");
}

#[test]
fn review13_subscription_closed_inside_another_callback_not_called_again() {
    // Review 13: chorus.h: chorus_subscription_close called from inside a callback (that
    // subscription's or any other's) "returns at once and the callback is not called again
    // after its current call (if one is running)"; Subscription's drop says the same. The
    // dispatcher checks the subscription is open after receiving an event, then encodes it
    // and calls the callback: a close from another callback between the check and the call
    // returns without waiting, and the callback is then called (a C caller that frees the
    // callback's user_data once the close returned uses freed memory). Here callback A, on
    // bob's first message of a round, drops four other callback subscriptions (B) of the same
    // client and then notes the time (the drops have returned); each B counts its calls
    // whose closure begins after that time (a call already running is not counted). 25
    // rounds, one message each. Measured on main: 4-9 such calls in 4 runs, beginning up to
    // 87 us after the drop returned (the trampoline had read user_data before that).
    // Want: no B callback begins after its drop (inside A's callback) returned.
    let dir = TempDir::new("r13close");
    let (_net, alice, bob, g) = pair(&dir);
    let base = Instant::now();
    let nanos = move || base.elapsed().as_nanos() as u64;
    let late = Arc::new(AtomicUsize::new(0));
    let latest = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut rounds_fired = 0;
    for round in 0..25 {
        let mut bs = Vec::new();
        let mut closed_at = Vec::new();
        for _ in 0..4 {
            let at = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let (c, l, m) = (at.clone(), late.clone(), latest.clone());
            let b = bob
                .subscribe(move |_ev| {
                    let began = nanos();
                    let closed = c.load(Ordering::SeqCst);
                    if closed != 0 && began > closed {
                        l.fetch_add(1, Ordering::SeqCst);
                        m.fetch_max(began - closed, Ordering::SeqCst);
                    }
                })
                .unwrap();
            bs.push(b);
            closed_at.push(at);
        }
        let slot: Arc<Mutex<Vec<chorus::Subscription>>> = Arc::new(Mutex::new(bs));
        let fired = Arc::new(AtomicBool::new(false));
        let (s, fr) = (slot.clone(), fired.clone());
        let a = bob
            .subscribe(move |ev| {
                if !matches!(ev, Event::MessageReceived(_)) || fr.load(Ordering::SeqCst) {
                    return;
                }
                let subs: Vec<_> = s.lock().unwrap().drain(..).collect();
                drop(subs); // inside a callback: each close returns at once
                let t = nanos();
                for c in &closed_at {
                    c.store(t, Ordering::SeqCst);
                }
                fr.store(true, Ordering::SeqCst);
            })
            .unwrap();
        alice.send_text(&g, &format!("round {round}")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fired.load(Ordering::SeqCst) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        if fired.load(Ordering::SeqCst) {
            rounds_fired += 1;
        }
        thread::sleep(Duration::from_millis(50)); // a late call has begun by now
        drop(a);
    }
    let late = late.load(Ordering::SeqCst);
    let latest = latest.load(Ordering::SeqCst);
    eprintln!(
        "review13: {rounds_fired} rounds fired; B callbacks begun after their drop returned: {late} (of up to {}), the latest {} us after",
        4 * rounds_fired,
        latest / 1000
    );
    assert!(rounds_fired >= 20, "set-up: callback A fired in {rounds_fired} of 25 rounds");
    assert_eq!(late, 0, "callbacks begun after their subscription was dropped (inside another callback) and the drop returned");
}
