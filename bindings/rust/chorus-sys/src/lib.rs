//! Raw declarations of the Chorus C ABI, `chorus.h` (in `go/` of this crate; contracts,
//! ownership and thread safety are documented there). Use the safe crate `chorus`.
//!
//! Every function returns a `CHORUS_*` code; strings returned through `*mut *mut c_char`
//! are owned by the caller and freed with [`chorus_free`]; handles are opaque `u64`s.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_void};

pub const CHORUS_ABI_VERSION: c_int = 1;

pub const CHORUS_OK: c_int = 0;
pub const CHORUS_ERR_INVALID_ARGUMENT: c_int = 1;
pub const CHORUS_ERR_INVALID_HANDLE: c_int = 2;
pub const CHORUS_ERR_CLOSED: c_int = 3;
pub const CHORUS_ERR_TIMEOUT: c_int = 4;
pub const CHORUS_ERR_NO_ACCOUNT: c_int = 5;
pub const CHORUS_ERR_ACCOUNT_EXISTS: c_int = 6;
pub const CHORUS_ERR_UNKNOWN_GROUP: c_int = 7;
pub const CHORUS_ERR_NOT_MEMBER: c_int = 8;
pub const CHORUS_ERR_NOT_ADMIN: c_int = 9;
pub const CHORUS_ERR_UNKNOWN_CONTACT: c_int = 10;
pub const CHORUS_ERR_BAD_CONTACT_CODE: c_int = 11;
pub const CHORUS_ERR_BAD_LINK_CODE: c_int = 12;
pub const CHORUS_ERR_INVALID_CONTENT: c_int = 13;
pub const CHORUS_ERR_NOT_ACCOUNT_HOLDER: c_int = 14;
pub const CHORUS_ERR_TOO_MANY_INSTALLATIONS: c_int = 15;
pub const CHORUS_ERR_INSTALLATION_REVOKED: c_int = 16;
pub const CHORUS_ERR_UNKNOWN_INSTALLATION: c_int = 17;
pub const CHORUS_ERR_CURRENT_INSTALLATION: c_int = 18;
pub const CHORUS_ERR_ALREADY_LINKED: c_int = 19;
pub const CHORUS_ERR_NETWORK: c_int = 20;
pub const CHORUS_ERR_STORAGE: c_int = 21;
pub const CHORUS_ERR_INTERNAL: c_int = 99;

pub type chorus_network = u64;
pub type chorus_transport = u64;
pub type chorus_client = u64;
pub type chorus_subscription = u64;

/// Event callback: `event_json` (NUL-terminated, `len` bytes) is borrowed for the call.
pub type chorus_event_cb = Option<unsafe extern "C" fn(user_data: *mut c_void, event_json: *const c_char, len: usize)>;

extern "C" {
    pub fn chorus_free(p: *mut c_void);
    pub fn chorus_abi_version() -> c_int;

    pub fn chorus_memory_network_new(config_json: *const c_char, out: *mut chorus_network, err: *mut *mut c_char) -> c_int;
    pub fn chorus_memory_network_close(net: chorus_network, err: *mut *mut c_char) -> c_int;
    pub fn chorus_memory_join(net: chorus_network, name: *const c_char, out: *mut chorus_transport, err: *mut *mut c_char) -> c_int;
    pub fn chorus_waku_node_new(config_json: *const c_char, out: *mut chorus_transport, err: *mut *mut c_char) -> c_int;
    pub fn chorus_waku_node_listen_addrs(node: chorus_transport, out_json: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_waku_node_peer_count(node: chorus_transport, out: *mut c_int, err: *mut *mut c_char) -> c_int;
    pub fn chorus_transport_close(t: chorus_transport, err: *mut *mut c_char) -> c_int;

    pub fn chorus_client_open(
        data_dir: *const c_char,
        t: chorus_transport,
        options_json: *const c_char,
        out: *mut chorus_client,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn chorus_client_close(c: chorus_client, err: *mut *mut c_char) -> c_int;
    pub fn chorus_create_account(c: chorus_client, out_json: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_account(c: chorus_client, out_json: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_contact_code(c: chorus_client, out: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_add_contact(c: chorus_client, code: *const c_char, out_json: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_contacts(c: chorus_client, out_json: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_create_group(
        c: chorus_client,
        name: *const c_char,
        description: *const c_char,
        members_json: *const c_char,
        out_group_id: *mut *mut c_char,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn chorus_groups(c: chorus_client, out_json: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_group(c: chorus_client, group_id: *const c_char, out_json: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_add_members(c: chorus_client, group_id: *const c_char, members_json: *const c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_remove_members(c: chorus_client, group_id: *const c_char, members_json: *const c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_add_admins(c: chorus_client, group_id: *const c_char, members_json: *const c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_leave(c: chorus_client, group_id: *const c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_set_name(c: chorus_client, group_id: *const c_char, name: *const c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_send(
        c: chorus_client,
        group_id: *const c_char,
        content_json: *const c_char,
        out_message_id: *mut *mut c_char,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn chorus_send_text(
        c: chorus_client,
        group_id: *const c_char,
        text: *const c_char,
        out_message_id: *mut *mut c_char,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn chorus_messages(
        c: chorus_client,
        group_id: *const c_char,
        filter_json: *const c_char,
        out_json: *mut *mut c_char,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn chorus_sync(c: chorus_client, err: *mut *mut c_char) -> c_int;

    pub fn chorus_link_code(c: chorus_client, out: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_link_device(
        c: chorus_client,
        code: *const c_char,
        name: *const c_char,
        out_installation_id: *mut *mut c_char,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn chorus_installations(c: chorus_client, out_json: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_revoke_installation(c: chorus_client, installation_id: *const c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_remove_installation(c: chorus_client, installation_id: *const c_char, err: *mut *mut c_char) -> c_int;

    pub fn chorus_subscribe(c: chorus_client, out: *mut chorus_subscription, err: *mut *mut c_char) -> c_int;
    pub fn chorus_next_event(s: chorus_subscription, timeout_ms: i64, out_json: *mut *mut c_char, err: *mut *mut c_char) -> c_int;
    pub fn chorus_subscribe_callback(
        c: chorus_client,
        cb: chorus_event_cb,
        user_data: *mut c_void,
        out: *mut chorus_subscription,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn chorus_subscription_close(s: chorus_subscription, err: *mut *mut c_char) -> c_int;
}
