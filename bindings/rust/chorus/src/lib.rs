//! Chorus: end-to-end encrypted group chat over Waku v2 (X3DH + Double Ratchet sessions
//! carrying Sender Keys; Status-format group membership), from Rust.
//!
//! This crate is a safe wrapper of the Chorus C ABI (crate `chorus-sys`), which embeds the
//! whole Go client: accounts, contacts, groups, messages, devices and the event stream, on
//! an embedded go-waku node or an in-memory network.
//!
//! ```no_run
//! use chorus::{Client, Content, MemoryNetwork, Options};
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), chorus::Error> {
//! let net = MemoryNetwork::new(&Default::default())?;
//! let alice = Client::open("/tmp/alice", &net.join("alice")?, &Options::default())?;
//! let bob = Client::open("/tmp/bob", &net.join("bob")?, &Options::default())?;
//! alice.create_account()?;
//! let bob_account = bob.create_account()?;
//! alice.add_contact(&bob.contact_code()?)?;
//! bob.add_contact(&alice.contact_code()?)?;
//! let group = alice.create_group("friends", "", &[bob_account.id.as_str()])?;
//! alice.send(&group, &Content::text("hello, bob"))?;
//! while let Some(event) = bob.next_event(Duration::from_secs(5))? {
//!     if let chorus::Event::MessageReceived(m) = event {
//!         println!("{}: {:?}", m.sender, m.content);
//!         break;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Every type is `Send + Sync`: the C ABI is safe for concurrent use. Dropping a
//! [`Client`] closes it (its database and Run loop); dropping a [`Transport`] after its
//! clients closes the node. Values cross the boundary as JSON (spec "bindings").

mod json;

use chorus_sys as sys;
use json::{Obj, Value};
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int, c_void};
use std::path::Path;
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// ---- errors ----

/// What went wrong; the variants mirror the C ABI's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    InvalidArgument,
    InvalidHandle,
    Closed,
    Timeout,
    NoAccount,
    AccountExists,
    UnknownGroup,
    NotMember,
    NotAdmin,
    UnknownContact,
    BadContactCode,
    BadLinkCode,
    InvalidContent,
    NotAccountHolder,
    TooManyInstallations,
    InstallationRevoked,
    UnknownInstallation,
    CurrentInstallation,
    AlreadyLinked,
    Network,
    Storage,
    Internal,
    /// A code this version does not know.
    Other(i32),
}

impl ErrorKind {
    fn from_code(code: c_int) -> Self {
        match code {
            sys::CHORUS_ERR_INVALID_ARGUMENT => ErrorKind::InvalidArgument,
            sys::CHORUS_ERR_INVALID_HANDLE => ErrorKind::InvalidHandle,
            sys::CHORUS_ERR_CLOSED => ErrorKind::Closed,
            sys::CHORUS_ERR_TIMEOUT => ErrorKind::Timeout,
            sys::CHORUS_ERR_NO_ACCOUNT => ErrorKind::NoAccount,
            sys::CHORUS_ERR_ACCOUNT_EXISTS => ErrorKind::AccountExists,
            sys::CHORUS_ERR_UNKNOWN_GROUP => ErrorKind::UnknownGroup,
            sys::CHORUS_ERR_NOT_MEMBER => ErrorKind::NotMember,
            sys::CHORUS_ERR_NOT_ADMIN => ErrorKind::NotAdmin,
            sys::CHORUS_ERR_UNKNOWN_CONTACT => ErrorKind::UnknownContact,
            sys::CHORUS_ERR_BAD_CONTACT_CODE => ErrorKind::BadContactCode,
            sys::CHORUS_ERR_BAD_LINK_CODE => ErrorKind::BadLinkCode,
            sys::CHORUS_ERR_INVALID_CONTENT => ErrorKind::InvalidContent,
            sys::CHORUS_ERR_NOT_ACCOUNT_HOLDER => ErrorKind::NotAccountHolder,
            sys::CHORUS_ERR_TOO_MANY_INSTALLATIONS => ErrorKind::TooManyInstallations,
            sys::CHORUS_ERR_INSTALLATION_REVOKED => ErrorKind::InstallationRevoked,
            sys::CHORUS_ERR_UNKNOWN_INSTALLATION => ErrorKind::UnknownInstallation,
            sys::CHORUS_ERR_CURRENT_INSTALLATION => ErrorKind::CurrentInstallation,
            sys::CHORUS_ERR_ALREADY_LINKED => ErrorKind::AlreadyLinked,
            sys::CHORUS_ERR_NETWORK => ErrorKind::Network,
            sys::CHORUS_ERR_STORAGE => ErrorKind::Storage,
            sys::CHORUS_ERR_INTERNAL => ErrorKind::Internal,
            c => ErrorKind::Other(c),
        }
    }
}

/// An error from Chorus: its kind and the library's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// The kind of error (match on it).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The message from the library.
    pub fn message(&self) -> &str {
        &self.message
    }
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.message, self.kind)
    }
}

impl std::error::Error for Error {}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

// ---- FFI helpers ----

fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(ErrorKind::InvalidArgument, "chorus: string contains a NUL byte"))
}

/// Takes ownership of a string returned by the library.
unsafe fn take(p: *mut c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    let s = CStr::from_ptr(p).to_string_lossy().into_owned();
    sys::chorus_free(p as *mut c_void);
    s
}

/// Runs one C call with an error out parameter and turns its code into a Result.
fn check(f: impl FnOnce(*mut *mut c_char) -> c_int) -> Result<()> {
    let mut err: *mut c_char = ptr::null_mut();
    let code = f(&mut err);
    let message = unsafe { take(err) };
    if code == sys::CHORUS_OK {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::from_code(code), message))
    }
}

/// A call returning a string through `out`.
fn out_string(f: impl FnOnce(*mut *mut c_char, *mut *mut c_char) -> c_int) -> Result<String> {
    let mut out: *mut c_char = ptr::null_mut();
    let r = check(|err| f(&mut out, err));
    let s = unsafe { take(out) };
    r.map(|_| s)
}

fn out_json(f: impl FnOnce(*mut *mut c_char, *mut *mut c_char) -> c_int) -> Result<Value> {
    let s = out_string(f)?;
    json::parse(&s).map_err(|e| Error::new(ErrorKind::Internal, e))
}


fn millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

// ---- values ----

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub String);

        impl $name {
            /// The id in lowercase hex.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

id_type!(
    /// A group's id (64 hex digits).
    GroupId
);
id_type!(
    /// A message's id (64 hex digits).
    MessageId
);
id_type!(
    /// An installation's (device's) id (32 hex digits).
    InstallationId
);

/// The local account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account id ("0x04..."): the member id other people use.
    pub id: String,
    /// This installation.
    pub installation: InstallationId,
    /// This installation holds the account key (created the account); only holders manage
    /// groups and devices.
    pub holder: bool,
    /// The account revoked this installation.
    pub revoked: bool,
}

impl Account {
    fn from_json(v: &Value) -> Self {
        Account { id: v.str("id"), installation: InstallationId(v.str("installation")), holder: v.bool("holder"), revoked: v.bool("revoked") }
    }
}

/// A known account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    pub installations: Vec<InstallationId>,
    /// Added by us (AddContact), not only seen in a group.
    pub added: bool,
}

impl Contact {
    fn from_json(v: &Value) -> Self {
        Contact { id: v.str("id"), installations: v.strings("installations").into_iter().map(InstallationId).collect(), added: v.bool("added") }
    }
}

/// Our membership state in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupStatus {
    Active,
    /// Removed by an admin.
    Removed,
    /// We left.
    Left,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    /// The Status-format chat id.
    pub chat_id: String,
    pub name: String,
    pub description: String,
    pub color: String,
    pub creator: String,
    pub members: Vec<String>,
    pub admins: Vec<String>,
    pub status: GroupStatus,
    /// The Waku content topic of the group's messages.
    pub topic: String,
}

impl Group {
    fn from_json(v: &Value) -> Self {
        let status = match v.str("status").as_str() {
            "removed" => GroupStatus::Removed,
            "left" => GroupStatus::Left,
            _ => GroupStatus::Active,
        };
        Group {
            id: GroupId(v.str("id")),
            chat_id: v.str("chat_id"),
            name: v.str("name"),
            description: v.str("description"),
            color: v.str("color"),
            creator: v.str("creator"),
            members: v.strings("members"),
            admins: v.strings("admins"),
            status,
            topic: v.str("topic"),
        }
    }
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content {
    Text(String),
    Reply { target: MessageId, text: String },
    Reaction { target: MessageId, emoji: String, removed: bool },
    /// A membership change (sent by the engine).
    Membership,
    /// A device-list change of the sender's account (sent by the engine).
    Devices,
    /// A content type this version does not know.
    Unknown,
}

impl Content {
    /// A text message.
    pub fn text(s: impl Into<String>) -> Self {
        Content::Text(s.into())
    }
    fn from_json(v: &Value) -> Self {
        match v.str("type").as_str() {
            "text" => Content::Text(v.str("text")),
            "reply" => Content::Reply { target: MessageId(v.str("target")), text: v.str("text") },
            "reaction" => Content::Reaction { target: MessageId(v.str("target")), emoji: v.str("emoji"), removed: v.bool("removed") },
            "membership" => Content::Membership,
            "devices" => Content::Devices,
            _ => Content::Unknown,
        }
    }
    fn to_json(&self) -> Result<String> {
        Ok(match self {
            Content::Text(t) => Obj::new().str("type", "text").str("text", t).done(),
            Content::Reply { target, text } => Obj::new().str("type", "reply").str("target", &target.0).str("text", text).done(),
            Content::Reaction { target, emoji, removed } => Obj::new()
                .str("type", "reaction")
                .str("target", &target.0)
                .str("emoji", emoji)
                .raw("removed", if *removed { "true" } else { "false" })
                .done(),
            _ => return Err(Error::new(ErrorKind::InvalidContent, "chorus: only text, replies and reactions can be sent")),
        })
    }
}

/// The delivery state of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Stored, not yet published.
    Unpublished,
    /// The transport accepted it.
    Published,
    /// Every publish attempt failed.
    Failed,
    /// An inbound message.
    Received,
}

impl DeliveryStatus {
    fn parse(s: &str) -> Self {
        match s {
            "published" => DeliveryStatus::Published,
            "failed" => DeliveryStatus::Failed,
            "received" => DeliveryStatus::Received,
            _ => DeliveryStatus::Unpublished,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Unpublished => "unpublished",
            DeliveryStatus::Published => "published",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Received => "received",
        }
    }
}

/// A group message as stored locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub group: GroupId,
    /// Local order (paging cursor for [`MessageFilter::before`]).
    pub seq: i64,
    pub sender: String,
    pub sender_installation: InstallationId,
    pub clock: u64,
    pub timestamp: SystemTime,
    pub received_at: SystemTime,
    pub outgoing: bool,
    pub status: DeliveryStatus,
    pub content: Content,
}

impl Message {
    fn from_json(v: &Value) -> Self {
        Message {
            id: MessageId(v.str("id")),
            group: GroupId(v.str("group")),
            seq: v.i64("seq"),
            sender: v.str("sender"),
            sender_installation: InstallationId(v.str("sender_installation")),
            clock: v.u64("clock"),
            timestamp: millis(v.i64("timestamp_ms")),
            received_at: millis(v.i64("received_at_ms")),
            outgoing: v.bool("outgoing"),
            status: DeliveryStatus::parse(&v.str("status")),
            content: v.get("content").map_or(Content::Unknown, Content::from_json),
        }
    }
}

/// Which messages [`Client::messages`] returns: newest first.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only messages older than this local order (0: from the newest).
    pub before: i64,
    /// At most this many (0: all).
    pub limit: usize,
    /// Only messages with this status.
    pub status: Option<DeliveryStatus>,
}

/// An installation (device) of our account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub id: InstallationId,
    pub name: String,
    pub platform: String,
    /// When it was added (UNIX_EPOCH if unknown).
    pub added: SystemTime,
    pub revoked: bool,
    /// This installation.
    pub current: bool,
}

impl Installation {
    fn from_json(v: &Value) -> Self {
        Installation {
            id: InstallationId(v.str("id")),
            name: v.str("name"),
            platform: v.str("platform"),
            added: millis(v.i64("added_ms")),
            revoked: v.str("status") == "revoked",
            current: v.bool("current"),
        }
    }
}

/// Something the engine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new inbound group message (already stored).
    MessageReceived(Message),
    /// A group's membership or metadata changed; `removed`: we were removed (or left).
    MembershipChanged {
        group: GroupId,
        members_added: Vec<String>,
        members_removed: Vec<String>,
        admins_added: Vec<String>,
        admins_removed: Vec<String>,
        removed: bool,
        name: String,
        description: String,
        color: String,
    },
    /// Messages known to be missing and not found in history: a range `[from, to)` of
    /// sender-key iterations (`key_id`), or one message named by another's causal history
    /// (`message_id_prefix`, when `by_history`).
    MessageMissing {
        group: GroupId,
        sender_account: String,
        sender_installation: InstallationId,
        key_id: Option<String>,
        from: u32,
        to: u32,
        message_id_prefix: Option<String>,
        by_history: bool,
    },
    /// An outbound message's delivery status changed.
    DeliveryStatusChanged { message: MessageId, group: GroupId, status: DeliveryStatus },
    /// We were welcomed into a group.
    GroupJoined { group: GroupId, name: String, inviter: String },
    /// Our account's device list changed; `current_revoked`: this installation was revoked.
    InstallationsChanged { added: Vec<InstallationId>, revoked: Vec<InstallationId>, current_revoked: bool },
    /// This installation, waiting after [`Client::link_code`], was linked to `account`.
    AccountLinked { account: String, by: InstallationId },
    /// `count` events were dropped for this (slow) subscriber; re-read the store.
    EventsDropped { count: u64 },
    /// An event type this version does not know (its JSON).
    Unknown(String),
}

impl Event {
    fn from_json(s: &str) -> Self {
        let v = match json::parse(s) {
            Ok(v) => v,
            Err(_) => return Event::Unknown(s.to_string()),
        };
        let ids = |k: &str| v.strings(k).into_iter().map(InstallationId).collect::<Vec<_>>();
        match v.str("type").as_str() {
            "message_received" => Event::MessageReceived(v.get("message").map(Message::from_json).unwrap_or_else(|| Message::from_json(&Value::Null))),
            "membership_changed" => Event::MembershipChanged {
                group: GroupId(v.str("group")),
                members_added: v.strings("members_added"),
                members_removed: v.strings("members_removed"),
                admins_added: v.strings("admins_added"),
                admins_removed: v.strings("admins_removed"),
                removed: v.bool("removed"),
                name: v.str("name"),
                description: v.str("description"),
                color: v.str("color"),
            },
            "message_missing" => Event::MessageMissing {
                group: GroupId(v.str("group")),
                sender_account: v.str("sender_account"),
                sender_installation: InstallationId(v.str("sender_installation")),
                key_id: v.opt_str("key_id"),
                from: v.u64("from") as u32,
                to: v.u64("to") as u32,
                message_id_prefix: v.opt_str("message_id_prefix"),
                by_history: v.bool("by_history"),
            },
            "delivery_status_changed" => Event::DeliveryStatusChanged {
                message: MessageId(v.str("message_id")),
                group: GroupId(v.str("group")),
                status: DeliveryStatus::parse(&v.str("status")),
            },
            "group_joined" => Event::GroupJoined { group: GroupId(v.str("group")), name: v.str("name"), inviter: v.str("inviter") },
            "installations_changed" => Event::InstallationsChanged { added: ids("added"), revoked: ids("revoked"), current_revoked: v.bool("current_revoked") },
            "account_linked" => Event::AccountLinked { account: v.str("account"), by: InstallationId(v.str("by")) },
            "events_dropped" => Event::EventsDropped { count: v.u64("count") },
            _ => Event::Unknown(s.to_string()),
        }
    }
}

// ---- transports ----

/// Settings of an in-memory network (tests, simulations).
#[derive(Debug, Clone, Default)]
pub struct MemoryConfig {
    /// Keep a history store (clients catch up with [`Client::sync`]).
    pub history: bool,
    pub seed: i64,
    /// Base latency of a delivery.
    pub delay: Duration,
    pub drop_rate: f64,
    pub duplicate_rate: f64,
    pub reorder_rate: f64,
}

struct NetworkInner(sys::chorus_network);

impl Drop for NetworkInner {
    fn drop(&mut self) {
        let _ = check(|err| unsafe { sys::chorus_memory_network_close(self.0, err) });
    }
}

/// An in-memory network: clients joined to it talk without sockets.
#[derive(Clone)]
pub struct MemoryNetwork {
    inner: Arc<NetworkInner>,
}

impl MemoryNetwork {
    /// Creates a network.
    pub fn new(cfg: &MemoryConfig) -> Result<Self> {
        let cfg = Obj::new()
            .raw("history", if cfg.history { "true" } else { "false" })
            .raw("seed", &cfg.seed.to_string())
            .raw("delay_ms", &cfg.delay.as_millis().to_string())
            .raw("drop_rate", &cfg.drop_rate.to_string())
            .raw("duplicate_rate", &cfg.duplicate_rate.to_string())
            .raw("reorder_rate", &cfg.reorder_rate.to_string())
            .done();
        let c = cstr(&cfg)?;
        let mut h = 0;
        check(|err| unsafe { sys::chorus_memory_network_new(c.as_ptr(), &mut h, err) })?;
        Ok(MemoryNetwork { inner: Arc::new(NetworkInner(h)) })
    }

    /// A node for one client named `name`.
    pub fn join(&self, name: &str) -> Result<Transport> {
        let n = cstr(name)?;
        let mut h = 0;
        check(|err| unsafe { sys::chorus_memory_join(self.inner.0, n.as_ptr(), &mut h, err) })?;
        Ok(Transport { inner: Arc::new(TransportInner { h, _net: Some(self.inner.clone()) }) })
    }
}

/// Settings of an embedded go-waku node (see transport/waku.Config).
#[derive(Debug, Clone, Default)]
pub struct WakuConfig {
    /// TCP host:port (default 127.0.0.1 and a random port).
    pub listen_addr: Option<String>,
    /// Multiaddrs (with /p2p/<id>) dialed at start and redialed.
    pub peers: Vec<String>,
    /// Multiaddrs of store nodes queried for history.
    pub store_peers: Vec<String>,
    /// Relay peers a publish needs (default 1).
    pub min_peers: Option<u32>,
    /// A light node: lightpush and filter through `peers`.
    pub light: bool,
    /// Serve lightpush and filter to light nodes.
    pub service: bool,
    /// Serve the store protocol (history) from what this node relays.
    pub store: bool,
    /// The store's sqlite file (":memory:" for a volatile store).
    pub store_path: Option<String>,
    /// Messages per second (negative: unpaced).
    pub publish_rate: Option<f64>,
}

struct TransportInner {
    h: sys::chorus_transport,
    _net: Option<Arc<NetworkInner>>,
}

impl Drop for TransportInner {
    fn drop(&mut self) {
        let _ = check(|err| unsafe { sys::chorus_transport_close(self.h, err) });
    }
}

/// A node clients run on: joined to a [`MemoryNetwork`], or an embedded go-waku node.
/// Clients keep their transport alive; it closes when the last of them and this value
/// are dropped.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<TransportInner>,
}

impl Transport {
    /// Starts an embedded go-waku node.
    pub fn waku(cfg: &WakuConfig) -> Result<Self> {
        let mut o = Obj::new()
            .raw("peers", &json::string_array(&cfg.peers))
            .raw("store_peers", &json::string_array(&cfg.store_peers))
            .raw("light", if cfg.light { "true" } else { "false" })
            .raw("service", if cfg.service { "true" } else { "false" })
            .raw("store", if cfg.store { "true" } else { "false" });
        if let Some(a) = &cfg.listen_addr {
            o = o.str("listen_addr", a);
        }
        if let Some(n) = cfg.min_peers {
            o = o.raw("min_peers", &n.to_string());
        }
        if let Some(p) = &cfg.store_path {
            o = o.str("store_path", p);
        }
        if let Some(r) = cfg.publish_rate {
            o = o.raw("publish_rate", &r.to_string());
        }
        let c = cstr(&o.done())?;
        let mut h = 0;
        check(|err| unsafe { sys::chorus_waku_node_new(c.as_ptr(), &mut h, err) })?;
        Ok(Transport { inner: Arc::new(TransportInner { h, _net: None }) })
    }

    /// A go-waku node's listen multiaddrs (give them to peers).
    pub fn listen_addrs(&self) -> Result<Vec<String>> {
        Ok(out_json(|out, err| unsafe { sys::chorus_waku_node_listen_addrs(self.inner.h, out, err) })?.string_items())
    }

    /// A go-waku node's connected peers.
    pub fn peer_count(&self) -> Result<usize> {
        let mut n: c_int = 0;
        check(|err| unsafe { sys::chorus_waku_node_peer_count(self.inner.h, &mut n, err) })?;
        Ok(n.max(0) as usize)
    }
}

// ---- events ----

/// An event stream read with [`EventStream::next_event`]. Independent of other streams.
pub struct EventStream {
    h: sys::chorus_subscription,
}

impl EventStream {
    /// Waits up to `timeout` for the next event: `Ok(None)` if none came in time,
    /// `Err` with [`ErrorKind::Closed`] once the client closed and the stream is drained.
    pub fn next_event(&self, timeout: Duration) -> Result<Option<Event>> {
        let ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        match out_string(|out, err| unsafe { sys::chorus_next_event(self.h, ms, out, err) }) {
            Ok(s) => Ok(Some(Event::from_json(&s))),
            Err(e) if e.kind == ErrorKind::Timeout => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        let _ = check(|err| unsafe { sys::chorus_subscription_close(self.h, err) });
    }
}

/// A subscription's closure, and whether its subscription was dropped: the trampoline
/// checks it after decoding the event, right before the call, so that no call of the
/// closure begins once a drop returned (review 13: the decoding took up to 87 µs, and a
/// drop inside another callback returned in between).
struct Callback {
    closed: std::sync::atomic::AtomicBool,
    f: Box<dyn Fn(Event) + Send + Sync>,
}

thread_local! {
    /// The callback this thread is running (to detect a Subscription dropped inside it).
    static IN_CALLBACK: std::cell::Cell<*const c_void> = const { std::cell::Cell::new(ptr::null()) };
}

unsafe extern "C" fn trampoline(user_data: *mut c_void, event: *const c_char, len: usize) {
    let f = &*(user_data as *const Callback);
    let bytes = std::slice::from_raw_parts(event as *const u8, len);
    let ev = Event::from_json(&String::from_utf8_lossy(bytes));
    if f.closed.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let prev = IN_CALLBACK.with(|c| c.replace(user_data));
    // A panic must not unwind into Go: it is caught and the event is dropped.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (f.f)(ev)));
    IN_CALLBACK.with(|c| c.set(prev));
}

/// A callback subscription ([`Client::subscribe`]); dropping it unsubscribes. When the
/// drop returns, the callback will not be called again, and is not running — unless the
/// drop happens inside a callback, where it returns at once (the callback's current call,
/// if any, ends on its own thread; its closure is then leaked, not freed).
pub struct Subscription {
    h: sys::chorus_subscription,
    cb: *mut Callback,
}

// The handle is a plain integer and the callback is Send + Sync.
unsafe impl Send for Subscription {}
unsafe impl Sync for Subscription {}

impl Drop for Subscription {
    fn drop(&mut self) {
        unsafe { (*self.cb).closed.store(true, std::sync::atomic::Ordering::SeqCst) };
        let _ = check(|err| unsafe { sys::chorus_subscription_close(self.h, err) });
        let inside = IN_CALLBACK.with(|c| !c.get().is_null());
        if !inside {
            // The library guarantees the callback is done: free it.
            drop(unsafe { Box::from_raw(self.cb) });
        }
        // Dropped from inside a callback (its own, or another subscription's: the close
        // then returns at once, chorus.h, and this callback may still be running on its
        // thread): it is leaked (once) rather than freed under it.
    }
}

// ---- client ----

/// Settings of a client.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// This device's name and platform (shown in the account's device list).
    pub device_name: Option<String>,
    pub device_platform: Option<String>,
    /// How often to fetch history and look for missing messages (default 30 s).
    pub sync_interval: Option<Duration>,
    /// Bound of the random delay of each publish of a burst (a group creation's Welcomes,
    /// a device link's or revocation's publishes to every group), so that outsiders cannot
    /// tie them together (default 30 s; `Some(Duration::ZERO)`: no delay, for tests).
    pub burst_spread: Option<Duration>,
}

/// One installation of one account on a data directory. Safe to share between threads
/// (`Arc<Client>`); dropping it closes it.
pub struct Client {
    h: sys::chorus_client,
    events: EventStream,
    _transport: Arc<TransportInner>,
}

impl Client {
    /// Opens (creating if needed) the data directory `dir` on `transport`. A directory
    /// holding an account goes online at once; otherwise call [`Client::create_account`]
    /// or [`Client::link_code`].
    pub fn open(dir: impl AsRef<Path>, transport: &Transport, opts: &Options) -> Result<Client> {
        let d = dir.as_ref().to_str().ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "chorus: the data directory must be UTF-8"))?;
        let d = cstr(d)?;
        let mut o = Obj::new();
        if let Some(n) = &opts.device_name {
            o = o.str("device_name", n);
        }
        if let Some(p) = &opts.device_platform {
            o = o.str("device_platform", p);
        }
        if let Some(s) = opts.sync_interval {
            o = o.raw("sync_interval_ms", &s.as_millis().max(1).to_string());
        }
        if let Some(s) = opts.burst_spread {
            o = o.raw("burst_spread_ms", &s.as_millis().to_string());
        }
        let o = cstr(&o.done())?;
        let mut h = 0;
        check(|err| unsafe { sys::chorus_client_open(d.as_ptr(), transport.inner.h, o.as_ptr(), &mut h, err) })?;
        let mut s = 0;
        if let Err(e) = check(|err| unsafe { sys::chorus_subscribe(h, &mut s, err) }) {
            let _ = check(|err| unsafe { sys::chorus_client_close(h, err) });
            return Err(e);
        }
        Ok(Client { h, events: EventStream { h: s }, _transport: transport.inner.clone() })
    }

    /// Creates the account (a new key and installation) and goes online.
    pub fn create_account(&self) -> Result<Account> {
        Ok(Account::from_json(&out_json(|out, err| unsafe { sys::chorus_create_account(self.h, out, err) })?))
    }

    /// The account ([`ErrorKind::NoAccount`] before one is created or linked).
    pub fn account(&self) -> Result<Account> {
        Ok(Account::from_json(&out_json(|out, err| unsafe { sys::chorus_account(self.h, out, err) })?))
    }

    /// This account's contact code ("chorus1:..."): give it to contacts (a QR code).
    pub fn contact_code(&self) -> Result<String> {
        out_string(|out, err| unsafe { sys::chorus_contact_code(self.h, out, err) })
    }

    /// Adds the contact whose code is `code`.
    pub fn add_contact(&self, code: &str) -> Result<Contact> {
        let c = cstr(code)?;
        Ok(Contact::from_json(&out_json(|out, err| unsafe { sys::chorus_add_contact(self.h, c.as_ptr(), out, err) })?))
    }

    /// Known contacts.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        Ok(out_json(|out, err| unsafe { sys::chorus_contacts(self.h, out, err) })?.items().iter().map(Contact::from_json).collect())
    }

    /// Creates a group with `members` (account ids of contacts); we are its admin.
    pub fn create_group(&self, name: &str, description: &str, members: &[&str]) -> Result<GroupId> {
        let (n, d, m) = (cstr(name)?, cstr(description)?, cstr(&json::string_array(members))?);
        out_string(|out, err| unsafe { sys::chorus_create_group(self.h, n.as_ptr(), d.as_ptr(), m.as_ptr(), out, err) }).map(GroupId)
    }

    /// Groups we are or were in.
    pub fn groups(&self) -> Result<Vec<Group>> {
        Ok(out_json(|out, err| unsafe { sys::chorus_groups(self.h, out, err) })?.items().iter().map(Group::from_json).collect())
    }

    /// One group.
    pub fn group(&self, id: &GroupId) -> Result<Group> {
        let g = cstr(&id.0)?;
        Ok(Group::from_json(&out_json(|out, err| unsafe { sys::chorus_group(self.h, g.as_ptr(), out, err) })?))
    }

    fn members_call(
        &self,
        id: &GroupId,
        members: &[&str],
        f: unsafe extern "C" fn(sys::chorus_client, *const c_char, *const c_char, *mut *mut c_char) -> c_int,
    ) -> Result<()> {
        let (g, m) = (cstr(&id.0)?, cstr(&json::string_array(members))?);
        check(|err| unsafe { f(self.h, g.as_ptr(), m.as_ptr(), err) })
    }

    /// Adds members (account ids of contacts). Admins only.
    pub fn add_members(&self, id: &GroupId, members: &[&str]) -> Result<()> {
        self.members_call(id, members, sys::chorus_add_members)
    }

    /// Removes members; the group is rekeyed so they read nothing after. Admins only.
    pub fn remove_members(&self, id: &GroupId, members: &[&str]) -> Result<()> {
        self.members_call(id, members, sys::chorus_remove_members)
    }

    /// Makes members admins. Admins only.
    pub fn add_admins(&self, id: &GroupId, members: &[&str]) -> Result<()> {
        self.members_call(id, members, sys::chorus_add_admins)
    }

    /// Leaves the group.
    pub fn leave(&self, id: &GroupId) -> Result<()> {
        let g = cstr(&id.0)?;
        check(|err| unsafe { sys::chorus_leave(self.h, g.as_ptr(), err) })
    }

    /// Renames the group. Admins only.
    pub fn set_name(&self, id: &GroupId, name: &str) -> Result<()> {
        let (g, n) = (cstr(&id.0)?, cstr(name)?);
        check(|err| unsafe { sys::chorus_set_name(self.h, g.as_ptr(), n.as_ptr(), err) })
    }

    /// Sends content (text, reply or reaction) to the group.
    pub fn send(&self, id: &GroupId, content: &Content) -> Result<MessageId> {
        if let Content::Text(t) = content {
            return self.send_text(id, t);
        }
        let (g, c) = (cstr(&id.0)?, cstr(&content.to_json()?)?);
        out_string(|out, err| unsafe { sys::chorus_send(self.h, g.as_ptr(), c.as_ptr(), out, err) }).map(MessageId)
    }

    /// Sends a text message to the group.
    pub fn send_text(&self, id: &GroupId, text: &str) -> Result<MessageId> {
        let (g, t) = (cstr(&id.0)?, cstr(text)?);
        out_string(|out, err| unsafe { sys::chorus_send_text(self.h, g.as_ptr(), t.as_ptr(), out, err) }).map(MessageId)
    }

    /// The group's messages, newest first.
    pub fn messages(&self, id: &GroupId, filter: &MessageFilter) -> Result<Vec<Message>> {
        let mut f = Obj::new().raw("before", &filter.before.to_string()).raw("limit", &filter.limit.to_string());
        if let Some(s) = filter.status {
            f = f.str("status", s.as_str());
        }
        let (g, f) = (cstr(&id.0)?, cstr(&f.done())?);
        Ok(out_json(|out, err| unsafe { sys::chorus_messages(self.h, g.as_ptr(), f.as_ptr(), out, err) })?
            .items()
            .iter()
            .map(Message::from_json)
            .collect())
    }

    /// Fetches history and looks for missing messages now (also done periodically).
    pub fn sync(&self) -> Result<()> {
        check(|err| unsafe { sys::chorus_sync(self.h, err) })
    }

    /// On a client without an account: waits to be linked to an existing account and
    /// returns the pairing code to show to an installation holding the account key
    /// ([`Client::link_device`]). An [`Event::AccountLinked`] follows.
    pub fn link_code(&self) -> Result<String> {
        out_string(|out, err| unsafe { sys::chorus_link_code(self.h, out, err) })
    }

    /// Links the installation that showed `code` to our account and names it.
    pub fn link_device(&self, code: &str, name: &str) -> Result<InstallationId> {
        let (c, n) = (cstr(code)?, cstr(name)?);
        out_string(|out, err| unsafe { sys::chorus_link_device(self.h, c.as_ptr(), n.as_ptr(), out, err) }).map(InstallationId)
    }

    /// Our account's installations, oldest first.
    pub fn installations(&self) -> Result<Vec<Installation>> {
        Ok(out_json(|out, err| unsafe { sys::chorus_installations(self.h, out, err) })?.items().iter().map(Installation::from_json).collect())
    }

    /// Revokes (permanently) another installation of our account, e.g. a lost device.
    pub fn revoke_installation(&self, id: &InstallationId) -> Result<()> {
        let i = cstr(&id.0)?;
        check(|err| unsafe { sys::chorus_revoke_installation(self.h, i.as_ptr(), err) })
    }

    /// Removes another installation we still have (it is told and deletes its keys).
    pub fn remove_installation(&self, id: &InstallationId) -> Result<()> {
        let i = cstr(&id.0)?;
        check(|err| unsafe { sys::chorus_remove_installation(self.h, i.as_ptr(), err) })
    }

    /// The next event of the client's own stream (opened with the client): `Ok(None)` if
    /// none came within `timeout`. Unread events queue up (1024; then
    /// [`Event::EventsDropped`]).
    pub fn next_event(&self, timeout: Duration) -> Result<Option<Event>> {
        self.events.next_event(timeout)
    }

    /// A new, independent event stream from now on.
    pub fn events(&self) -> Result<EventStream> {
        let mut s = 0;
        check(|err| unsafe { sys::chorus_subscribe(self.h, &mut s, err) })?;
        Ok(EventStream { h: s })
    }

    /// Calls `f` for every event from now on, on a thread of the library, one event at a
    /// time, until the returned [`Subscription`] is dropped. A panic in `f` is caught.
    pub fn subscribe<F: Fn(Event) + Send + Sync + 'static>(&self, f: F) -> Result<Subscription> {
        let cb: *mut Callback = Box::into_raw(Box::new(Callback { closed: std::sync::atomic::AtomicBool::new(false), f: Box::new(f) }));
        let mut s = 0;
        let r = check(|err| unsafe { sys::chorus_subscribe_callback(self.h, Some(trampoline), cb as *mut c_void, &mut s, err) });
        if let Err(e) = r {
            drop(unsafe { Box::from_raw(cb) });
            return Err(e);
        }
        Ok(Subscription { h: s, cb })
    }
}

impl Client {
    /// The client's C ABI handle (`chorus_client`), for calling `chorus-sys` functions this
    /// crate does not wrap. Valid while the client lives.
    pub fn raw_handle(&self) -> u64 {
        self.h
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = check(|err| unsafe { sys::chorus_client_close(self.h, err) });
    }
}

/// The C ABI version of the linked library.
pub fn abi_version() -> i32 {
    unsafe { sys::chorus_abi_version() }
}
