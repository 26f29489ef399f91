/*
 * chorus.h — the C ABI of Chorus (end-to-end encrypted group chat over Waku v2).
 *
 * Plain C99. Link with libchorus.a (go build -buildmode=c-archive ./bindings/c) and
 * -lpthread -ldl -lm -lresolv, or with libchorus.so (-buildmode=c-shared).
 * The normative description of the JSON values is spec/README.md, section "bindings".
 *
 * Conventions (every function follows them):
 *
 *  - Return value: an int error code, CHORUS_OK (0) on success, one of CHORUS_ERR_* on
 *    failure. A failed call changes nothing the caller owns: out parameters other than
 *    `err` are left untouched.
 *  - `char **err` (last parameter, may be NULL): on failure *err is set to a malloc'd
 *    UTF-8 message (free it with chorus_free); on success *err is set to NULL.
 *  - Strings passed in are NUL-terminated UTF-8, borrowed for the duration of the call
 *    only (Chorus copies what it keeps). NULL is accepted only where documented.
 *  - Strings returned through `char **out` are malloc'd, NUL-terminated UTF-8 and owned
 *    by the caller: free each with chorus_free exactly once.
 *  - Handles (chorus_network, chorus_transport, chorus_client, chorus_subscription) are
 *    opaque non-zero integers (Go runtime/cgo.Handle values), never pointers. Each is
 *    released by its close function; a closed or never-issued handle is rejected with
 *    CHORUS_ERR_INVALID_HANDLE (handle values are never reused).
 *  - Thread safety: every function may be called from any thread, concurrently, on the
 *    same or different handles. Blocking calls (chorus_next_event, network operations)
 *    block only the calling thread.
 *  - No crash across the boundary: a Go panic inside a call is recovered and reported as
 *    CHORUS_ERR_INTERNAL with its message.
 *  - Ids are lowercase hex: group and message ids 64 digits, installation ids 32 digits.
 *    Account ids are "0x04" + 128 hex digits (the uncompressed public key).
 *  - Structured values (accounts, contacts, groups, messages, events, options) are JSON
 *    objects, UTF-8, keys in snake_case; unknown keys in input are ignored, so later
 *    versions can add keys to output.
 */
#ifndef CHORUS_H
#define CHORUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version: bumped on any incompatible change of this header. */
#define CHORUS_ABI_VERSION 1

/* Error codes. */
#define CHORUS_OK 0
#define CHORUS_ERR_INVALID_ARGUMENT 1      /* NULL where not allowed, bad JSON, bad id */
#define CHORUS_ERR_INVALID_HANDLE 2        /* closed, zero or unknown handle, or wrong kind */
#define CHORUS_ERR_CLOSED 3                /* the client, transport or event stream closed */
#define CHORUS_ERR_TIMEOUT 4               /* chorus_next_event: nothing within the timeout */
#define CHORUS_ERR_NO_ACCOUNT 5            /* create an account (or link) first */
#define CHORUS_ERR_ACCOUNT_EXISTS 6        /* the data directory already holds an account */
#define CHORUS_ERR_UNKNOWN_GROUP 7
#define CHORUS_ERR_NOT_MEMBER 8            /* not (or no longer) a member of the group */
#define CHORUS_ERR_NOT_ADMIN 9             /* not allowed by the group's rules (admin only) */
#define CHORUS_ERR_UNKNOWN_CONTACT 10      /* add the contact (chorus_add_contact) first */
#define CHORUS_ERR_BAD_CONTACT_CODE 11
#define CHORUS_ERR_BAD_LINK_CODE 12
#define CHORUS_ERR_INVALID_CONTENT 13      /* message content rejected (e.g. empty text) */
#define CHORUS_ERR_NOT_ACCOUNT_HOLDER 14   /* this installation does not hold the account key */
#define CHORUS_ERR_TOO_MANY_INSTALLATIONS 15
#define CHORUS_ERR_INSTALLATION_REVOKED 16
#define CHORUS_ERR_UNKNOWN_INSTALLATION 17
#define CHORUS_ERR_CURRENT_INSTALLATION 18 /* cannot revoke or remove the current installation */
#define CHORUS_ERR_ALREADY_LINKED 19
#define CHORUS_ERR_NETWORK 20              /* the transport failed (no peers, too large, ...) */
#define CHORUS_ERR_STORAGE 21              /* data directory or database error */
#define CHORUS_ERR_INTERNAL 99             /* anything else, including a recovered Go panic */

typedef uint64_t chorus_network;      /* an in-memory network (tests, simulations) */
typedef uint64_t chorus_transport;    /* a node: joined to an in-memory network, or go-waku */
typedef uint64_t chorus_client;       /* a client: one installation on one data directory */
typedef uint64_t chorus_subscription; /* an event stream */

/*
 * Event callback. Called on a thread owned by Chorus (never the thread that subscribed),
 * one call at a time per subscription, in stream order. `event_json` is a NUL-terminated
 * JSON event (spec "bindings", events) of `len` bytes, borrowed: valid only during the
 * call. The callback may call any chorus_* function, including closing its own
 * subscription or client. A slow callback delays only its own subscription; past 1024
 * queued events the engine drops events for it and then reports an "events_dropped" event.
 */
typedef void (*chorus_event_cb)(void *user_data, const char *event_json, size_t len);

/* Frees a string returned by this library. NULL is ignored. */
void chorus_free(void *p);

/* The ABI version this library implements (CHORUS_ABI_VERSION). */
int chorus_abi_version(void);

/* ---- Transports ---------------------------------------------------------------- */

/*
 * Creates an in-memory network. config_json may be NULL (a perfect network without a
 * history store) or an object: {"history": bool, "seed": int, "delay_ms": int,
 * "jitter_ms": int, "drop_rate": num, "duplicate_rate": num, "reorder_rate": num}.
 */
int chorus_memory_network_new(const char *config_json, chorus_network *out, char **err);

/* Closes the network and every node joined to it. */
int chorus_memory_network_close(chorus_network net, char **err);

/* Joins the network as `name` (several clients may not share a node; each joins). */
int chorus_memory_join(chorus_network net, const char *name, chorus_transport *out, char **err);

/*
 * Starts an embedded go-waku node. config_json may be NULL (a relay node on 127.0.0.1,
 * random port, no peers, no store) or an object: {"listen_addr": "host:port",
 * "peers": [multiaddr], "store_peers": [multiaddr], "min_peers": int, "light": bool,
 * "service": bool, "store": bool, "store_path": string (":memory:" for a volatile store),
 * "publish_rate": num (messages/s; negative: unpaced), "start_timeout_ms": int}.
 */
int chorus_waku_node_new(const char *config_json, chorus_transport *out, char **err);

/* The node's listen multiaddrs (with /p2p/<id>) as a JSON array of strings. */
int chorus_waku_node_listen_addrs(chorus_transport node, char **out_json, char **err);

/* The number of connected peers. */
int chorus_waku_node_peer_count(chorus_transport node, int *out, char **err);

/*
 * Closes a transport (memory node or go-waku node). Clients on it stop receiving and
 * their network calls fail; close them first.
 */
int chorus_transport_close(chorus_transport t, char **err);

/* ---- Clients ------------------------------------------------------------------- */

/*
 * Opens (creating if needed) the data directory data_dir and its database, on transport
 * t (borrowed: keep it open while the client is). options_json may be NULL or
 * {"device_name": string, "device_platform": string, "sync_interval_ms": int,
 *  "burst_spread_ms": int}. burst_spread_ms bounds the random delay of each publish of a
 * burst (a group creation's Welcomes, a device link's or revocation's publishes to every
 * group): absent, the default (30 s); 0, no delay (tests that need prompt Welcomes).
 * If the directory holds an account, the client goes online at once; otherwise it goes
 * online after chorus_create_account or chorus_link_code. CHORUS_ERR_STORAGE if the
 * directory's database is open in another client (this process or another: one client per
 * data directory) or was written by a newer version of Chorus.
 */
int chorus_client_open(const char *data_dir, chorus_transport t, const char *options_json,
                       chorus_client *out, char **err);

/*
 * Closes the client: it goes offline, blocked calls on it return CHORUS_ERR_CLOSED, its
 * event streams end, and the database is closed. The handle is invalid afterwards.
 */
int chorus_client_close(chorus_client c, char **err);

/* Creates the account. out_json (may be NULL): the account (spec: account). */
int chorus_create_account(chorus_client c, char **out_json, char **err);

/* The account: {"id", "installation", "holder": bool, "revoked": bool}. */
int chorus_account(chorus_client c, char **out_json, char **err);

/* This account's contact code ("chorus1:..."), to show to contacts (QR code). */
int chorus_contact_code(chorus_client c, char **out, char **err);

/* Adds the contact whose code is `code`. out_json (may be NULL): the contact. */
int chorus_add_contact(chorus_client c, const char *code, char **out_json, char **err);

/* Contacts as a JSON array of {"id", "installations": [hex], "added": bool}. */
int chorus_contacts(chorus_client c, char **out_json, char **err);

/*
 * Creates a group with the given members (a JSON array of account ids of contacts, may
 * be NULL for none). description may be NULL. out_group_id: the new group's id.
 */
int chorus_create_group(chorus_client c, const char *name, const char *description,
                        const char *members_json, char **out_group_id, char **err);

/* Groups as a JSON array of group objects (spec: group). */
int chorus_groups(chorus_client c, char **out_json, char **err);

/* One group as a JSON object. */
int chorus_group(chorus_client c, const char *group_id, char **out_json, char **err);

/* Adds, removes members; adds admins (JSON array of account ids). Admins only. */
int chorus_add_members(chorus_client c, const char *group_id, const char *members_json, char **err);
int chorus_remove_members(chorus_client c, const char *group_id, const char *members_json, char **err);
int chorus_add_admins(chorus_client c, const char *group_id, const char *members_json, char **err);

/* Leaves the group. */
int chorus_leave(chorus_client c, const char *group_id, char **err);

/* Renames the group (admins only). */
int chorus_set_name(chorus_client c, const char *group_id, const char *name, char **err);

/*
 * Sends content (spec: content; e.g. {"type":"text","text":"hi"}) to the group.
 * out_message_id (may be NULL): the new message's id.
 */
int chorus_send(chorus_client c, const char *group_id, const char *content_json,
                char **out_message_id, char **err);

/* chorus_send of a text message, without JSON. */
int chorus_send_text(chorus_client c, const char *group_id, const char *text,
                     char **out_message_id, char **err);

/*
 * The group's messages, newest first, as a JSON array (spec: message). filter_json may be
 * NULL or {"before": seq, "limit": int, "status": "unpublished"|"published"|"failed"|"received"}.
 */
int chorus_messages(chorus_client c, const char *group_id, const char *filter_json,
                    char **out_json, char **err);

/* Fetches history now and looks for missing messages (also done periodically). */
int chorus_sync(chorus_client c, char **err);

/* ---- Devices (multi-device) --------------------------------------------------------- */

/*
 * On a client without an account: makes it a new installation waiting to be linked and
 * returns its pairing code (show it to an installation holding the account key). The
 * client goes online; an "account_linked" event follows the link.
 */
int chorus_link_code(chorus_client c, char **out, char **err);

/* Links the installation that showed `code`, naming it `name` (may be NULL).
 * out_installation_id (may be NULL): its id. */
int chorus_link_device(chorus_client c, const char *code, const char *name,
                       char **out_installation_id, char **err);

/* Installations of our account as a JSON array (spec: installation). */
int chorus_installations(chorus_client c, char **out_json, char **err);

/* Revokes (permanently) another installation of our account. */
int chorus_revoke_installation(chorus_client c, const char *installation_id, char **err);

/* Removes another installation we still have (it is told, and deletes its keys). */
int chorus_remove_installation(chorus_client c, const char *installation_id, char **err);

/* ---- Events ------------------------------------------------------------------------ */

/*
 * Subscribes to the client's events, read with chorus_next_event. Every subscription sees
 * every event from its creation on.
 */
int chorus_subscribe(chorus_client c, chorus_subscription *out, char **err);

/*
 * Waits up to timeout_ms (negative: without limit) for the next event and returns it as
 * JSON (spec: events). CHORUS_ERR_TIMEOUT if none came in time; CHORUS_ERR_CLOSED once the
 * stream ended (the client or the subscription closed) and every queued event was read.
 * Not for subscriptions made with chorus_subscribe_callback.
 */
int chorus_next_event(chorus_subscription s, int64_t timeout_ms, char **out_json, char **err);

/*
 * Subscribes `cb` to the client's events (see chorus_event_cb); user_data is passed back
 * unchanged. Close the subscription with chorus_subscription_close.
 */
int chorus_subscribe_callback(chorus_client c, chorus_event_cb cb, void *user_data,
                              chorus_subscription *out, char **err);

/*
 * Closes a subscription. For a callback subscription, when this returns the callback is
 * not running and will not be called again (so user_data may be freed) — except when
 * called from inside a callback (that subscription's or any other's), where it returns at
 * once and the callback is not called again after its current call (if one is running)
 * returns: no call begins after this returns; free its user_data only once you know a call
 * already running on another thread has ended. A blocked
 * chorus_next_event returns CHORUS_ERR_CLOSED.
 */
int chorus_subscription_close(chorus_subscription s, char **err);

#ifdef __cplusplus
}
#endif

#endif /* CHORUS_H */
