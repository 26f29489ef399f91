/*
 * C ABI lifecycle test: two clients on an in-memory network become contacts, create a
 * group, exchange messages (polled and through a callback), a third is added and removed,
 * a second device is linked and revoked,
 * error paths return their codes, and everything returned is freed. Built with
 * cc -Wall -Werror (-std=c99) and run under AddressSanitizer/LeakSanitizer by
 * `make bindings-test`: any leak or invalid access of the C side fails the run.
 *
 * usage: lifecycle DATA_DIR
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chorus.h"

static int failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                     \
		if (!(cond)) {                                                       \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);              \
			fprintf(stderr, __VA_ARGS__);                                    \
			fprintf(stderr, "\n");                                           \
			failures++;                                                      \
			return;                                                          \
		}                                                                    \
	} while (0)

/* OK runs a call that must succeed, printing and freeing its error otherwise. */
#define OK(call)                                                             \
	do {                                                                     \
		err = NULL;                                                          \
		int rc_ = (call);                                                    \
		if (rc_ != CHORUS_OK) {                                              \
			fprintf(stderr, "FAIL %s:%d: %s = %d (%s)\n", __FILE__, __LINE__, #call, rc_, err ? err : ""); \
			chorus_free(err);                                                \
			failures++;                                                      \
			return;                                                          \
		}                                                                    \
	} while (0)

/* expect_code checks that a failed call returned code with a non-empty message. */
static int expect_code(int rc, char **errp, int code, const char *what) {
	char *err = *errp;
	*errp = NULL;
	int ok = rc == code && err != NULL && err[0] != '\0';
	if (!ok) {
		fprintf(stderr, "FAIL %s: got %d (%s), want %d\n", what, rc, err ? err : "no message", code);
		failures++;
	}
	chorus_free(err);
	return ok;
}

typedef struct {
	pthread_mutex_t mu;
	int messages;
	char last_text[64];
} cb_state;

static void on_event(void *user_data, const char *json, size_t len) {
	cb_state *st = user_data;
	if (strlen(json) != len) {
		return;
	}
	if (strstr(json, "\"type\":\"message_received\"") != NULL) {
		pthread_mutex_lock(&st->mu);
		st->messages++;
		const char *t = strstr(json, "\"text\":\"");
		if (t != NULL) {
			t += 8;
			size_t n = strcspn(t, "\"");
			if (n >= sizeof st->last_text) {
				n = sizeof st->last_text - 1;
			}
			memcpy(st->last_text, t, n);
			st->last_text[n] = '\0';
		}
		pthread_mutex_unlock(&st->mu);
	}
}

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* wait_type polls sub until an event of the given type (and containing extra, if not NULL)
 * arrives. */
static int wait_type(chorus_subscription sub, const char *type, const char *extra, int tries) {
	char want[64];
	snprintf(want, sizeof want, "\"type\":\"%s\"", type);
	for (int i = 0; i < tries; i++) {
		char *ev = NULL, *err = NULL;
		int rc = chorus_next_event(sub, 100, &ev, &err);
		if (rc == CHORUS_OK) {
			int found = strstr(ev, want) != NULL && (extra == NULL || strstr(ev, extra) != NULL);
			chorus_free(ev);
			if (found) {
				return 1;
			}
		} else {
			chorus_free(err);
			if (rc != CHORUS_ERR_TIMEOUT) {
				return 0;
			}
		}
	}
	return 0;
}

/* wait_message polls sub (tries x 100 ms) until a message_received event containing text arrives. */
static int wait_message(chorus_subscription sub, const char *text, int tries) {
	for (int i = 0; i < tries; i++) {
		char *ev = NULL, *err = NULL;
		int rc = chorus_next_event(sub, 100, &ev, &err);
		if (rc == CHORUS_OK) {
			int found = strstr(ev, "\"type\":\"message_received\"") != NULL && strstr(ev, text) != NULL;
			chorus_free(ev);
			if (found) {
				return 1;
			}
		} else {
			chorus_free(err);
			if (rc != CHORUS_ERR_TIMEOUT) {
				return 0;
			}
		}
	}
	return 0;
}

static chorus_client open_client(chorus_network net, const char *dir, const char *name, chorus_transport *node) {
	char path[1024], *err = NULL;
	chorus_client c = 0;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (chorus_memory_join(net, name, node, &err) != CHORUS_OK ||
	    chorus_client_open(path, *node, "{\"device_name\":\"c test\",\"burst_spread_ms\":0}", &c, &err) != CHORUS_OK) {
		fprintf(stderr, "open %s: %s\n", name, err);
		chorus_free(err);
		return 0;
	}
	if (chorus_create_account(c, NULL, &err) != CHORUS_OK) {
		fprintf(stderr, "create account %s: %s\n", name, err);
		chorus_free(err);
	}
	return c;
}

/* account_id returns the malloc'd account id of c, parsed from chorus_account. */
static char *account_id(chorus_client c) {
	char *json = NULL, *err = NULL;
	if (chorus_account(c, &json, &err) != CHORUS_OK) {
		chorus_free(err);
		return NULL;
	}
	const char *p = strstr(json, "\"id\":\"");
	char *id = NULL;
	if (p != NULL) {
		p += 6;
		size_t n = strcspn(p, "\"");
		id = malloc(n + 1);
		memcpy(id, p, n);
		id[n] = '\0';
	}
	chorus_free(json);
	return id;
}

/* befriend makes a and b contacts of each other. */
static int befriend(chorus_client a, chorus_client b) {
	char *code = NULL, *err = NULL;
	int ok = 1;
	if (chorus_contact_code(b, &code, &err) != CHORUS_OK || chorus_add_contact(a, code, NULL, &err) != CHORUS_OK) {
		ok = 0;
	}
	chorus_free(code);
	code = NULL;
	if (ok && (chorus_contact_code(a, &code, &err) != CHORUS_OK || chorus_add_contact(b, code, NULL, &err) != CHORUS_OK)) {
		ok = 0;
	}
	chorus_free(code);
	chorus_free(err);
	return ok;
}

static void test_errors(chorus_client alice) {
	char *err = NULL, *out = NULL;
	/* a bad handle is reported, not a crash (the Go panic is recovered) */
	expect_code(chorus_account(987654321, &out, &err), &err, CHORUS_ERR_INVALID_HANDLE, "invalid handle");
	err = NULL;
	expect_code(chorus_add_contact(alice, "chorus1:not-a-code", &out, &err), &err, CHORUS_ERR_BAD_CONTACT_CODE, "bad contact code");
	err = NULL;
	expect_code(chorus_send_text(alice, "00000000000000000000000000000000000000000000000000000000000000ff", "x", &out, &err), &err,
	            CHORUS_ERR_UNKNOWN_GROUP, "unknown group");
	err = NULL;
	expect_code(chorus_send_text(alice, "not hex", "x", &out, &err), &err, CHORUS_ERR_INVALID_ARGUMENT, "bad group id");
	err = NULL;
	expect_code(chorus_add_contact(alice, NULL, &out, &err), &err, CHORUS_ERR_INVALID_ARGUMENT, "NULL code");
	err = NULL;
	expect_code(chorus_create_group(alice, "g", NULL, "[not json", &out, &err), &err, CHORUS_ERR_INVALID_ARGUMENT, "bad JSON");
	err = NULL;
	expect_code(chorus_create_account(alice, &out, &err), &err, CHORUS_ERR_ACCOUNT_EXISTS, "account exists");
	/* a NULL err is allowed */
	int rc = chorus_add_contact(alice, "nope", NULL, NULL);
	if (rc != CHORUS_ERR_BAD_CONTACT_CODE) {
		fprintf(stderr, "FAIL NULL err: %d\n", rc);
		failures++;
	}
	if (out != NULL) {
		fprintf(stderr, "FAIL: out set on failure\n");
		failures++;
	}
}

static void run(const char *dir) {
	chorus_network net = 0;
	chorus_transport na = 0, nb = 0, nc = 0;
	char *err = NULL;
	CHECK(chorus_abi_version() == CHORUS_ABI_VERSION, "abi version");
	OK(chorus_memory_network_new("{\"history\":true}", &net, &err));
	chorus_client alice = open_client(net, dir, "alice", &na);
	chorus_client bob = open_client(net, dir, "bob", &nb);
	chorus_client carol = open_client(net, dir, "carol", &nc);
	CHECK(alice && bob && carol, "open clients");

	test_errors(alice);

	chorus_subscription bob_events = 0, carol_events = 0, bob_cb = 0;
	OK(chorus_subscribe(bob, &bob_events, &err));
	OK(chorus_subscribe(carol, &carol_events, &err));
	cb_state st = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
	OK(chorus_subscribe_callback(bob, on_event, &st, &bob_cb, &err));

	CHECK(befriend(alice, bob) && befriend(alice, carol), "contacts");
	char *bob_id = account_id(bob), *carol_id = account_id(carol);
	CHECK(bob_id && carol_id, "account ids");
	char members[512];
	snprintf(members, sizeof members, "[\"%s\"]", bob_id);

	char *group = NULL, *msg_id = NULL;
	OK(chorus_create_group(alice, "friends", "from C", members, &group, &err));
	CHECK(strlen(group) == 64, "group id %s", group);
	OK(chorus_send(alice, group, "{\"type\":\"text\",\"text\":\"hello from C\"}", &msg_id, &err));
	CHECK(strlen(msg_id) == 64, "message id");
	CHECK(wait_message(bob_events, "hello from C", 200), "bob receives the message");

	/* bob is not an admin */
	char *out = NULL;
	err = NULL;
	expect_code(chorus_set_name(bob, group, "bob's", &err), &err, CHORUS_ERR_NOT_ADMIN, "not admin");

	/* bob answers; alice reads it in her messages */
	OK(chorus_send_text(bob, group, "hi alice", NULL, &err));

	/* carol joins, reads, is removed, reads nothing after */
	snprintf(members, sizeof members, "[\"%s\"]", carol_id);
	OK(chorus_add_members(alice, group, members, &err));
	OK(chorus_send_text(alice, group, "welcome carol", NULL, &err));
	CHECK(wait_message(carol_events, "welcome carol", 200), "carol receives");
	OK(chorus_remove_members(alice, group, members, &err));
	OK(chorus_send_text(alice, group, "carol is gone", NULL, &err));
	CHECK(wait_message(bob_events, "carol is gone", 200), "bob receives after removal");
	CHECK(!wait_message(carol_events, "carol is gone", 10), "carol must not read after removal");

	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&st.mu);
		int n = st.messages;
		pthread_mutex_unlock(&st.mu);
		if (n >= 3) {
			break;
		}
		sleep_ms(20);
	}
	pthread_mutex_lock(&st.mu);
	CHECK(st.messages >= 3, "callback saw %d messages", st.messages);
	pthread_mutex_unlock(&st.mu);

	/* a second device of alice: linked, then revoked */
	chorus_transport nd = 0;
	chorus_client laptop = 0;
	chorus_subscription laptop_events = 0;
	char path[1024], *link = NULL, *laptop_id = NULL;
	snprintf(path, sizeof path, "%s/alice-laptop", dir);
	OK(chorus_memory_join(net, "alice-laptop", &nd, &err));
	OK(chorus_client_open(path, nd, "{\"burst_spread_ms\":0}", &laptop, &err));
	OK(chorus_subscribe(laptop, &laptop_events, &err));
	OK(chorus_link_code(laptop, &link, &err));
	OK(chorus_link_device(alice, link, "laptop", &laptop_id, &err));
	chorus_free(link);
	CHECK(wait_type(laptop_events, "account_linked", NULL, 200), "laptop linked");
	OK(chorus_installations(alice, &out, &err));
	CHECK(strstr(out, laptop_id) != NULL && strstr(out, "\"name\":\"laptop\"") != NULL, "installations: %s", out);
	chorus_free(out);
	out = NULL;
	OK(chorus_revoke_installation(alice, laptop_id, &err));
	OK(chorus_installations(alice, &out, &err));
	CHECK(strstr(out, "\"status\":\"revoked\"") != NULL, "revoked: %s", out);
	chorus_free(out);
	out = NULL;
	err = NULL;
	expect_code(chorus_revoke_installation(alice, "zz", &err), &err, CHORUS_ERR_INVALID_ARGUMENT, "bad installation id");
	OK(chorus_subscription_close(laptop_events, &err));
	OK(chorus_client_close(laptop, &err));
	OK(chorus_transport_close(nd, &err));
	chorus_free(laptop_id);

	OK(chorus_messages(alice, group, "{\"limit\":10}", &out, &err));
	CHECK(strstr(out, "hi alice") != NULL, "alice has bob's answer: %s", out);
	chorus_free(out);
	out = NULL;
	OK(chorus_group(alice, group, &out, &err));
	CHECK(strstr(out, "\"name\":\"friends\"") != NULL, "group json: %s", out);
	chorus_free(out);
	out = NULL;
	OK(chorus_groups(bob, &out, &err));
	chorus_free(out);
	out = NULL;
	OK(chorus_contacts(alice, &out, &err));
	chorus_free(out);
	out = NULL;
	OK(chorus_installations(alice, &out, &err));
	CHECK(strstr(out, "\"current\":true") != NULL, "installations: %s", out);
	chorus_free(out);

	/* closing: subscriptions, clients (a blocked reader would return CLOSED), transports */
	OK(chorus_subscription_close(bob_cb, &err));
	OK(chorus_subscription_close(bob_events, &err));
	OK(chorus_client_close(carol, &err));
	err = NULL;
	expect_code(chorus_next_event(carol_events, 1000, &out, &err), &err, CHORUS_ERR_CLOSED, "stream ends at close");
	OK(chorus_subscription_close(carol_events, &err));
	err = NULL;
	expect_code(chorus_subscription_close(carol_events, &err), &err, CHORUS_ERR_INVALID_HANDLE, "double close");
	OK(chorus_client_close(alice, &err));
	OK(chorus_client_close(bob, &err));
	err = NULL;
	expect_code(chorus_send_text(bob, group, "x", NULL, &err), &err, CHORUS_ERR_INVALID_HANDLE, "closed client");
	OK(chorus_transport_close(na, &err));
	OK(chorus_transport_close(nb, &err));
	OK(chorus_transport_close(nc, &err));
	OK(chorus_memory_network_close(net, &err));
	chorus_free(group);
	chorus_free(msg_id);
	free(bob_id);
	free(carol_id);
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
		return 2;
	}
	run(argv[1]);
	if (failures > 0) {
		fprintf(stderr, "lifecycle: %d failure(s)\n", failures);
		return 1;
	}
	printf("lifecycle: ok\n");
	return 0;
}
