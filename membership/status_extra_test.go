package membership_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	m "github.com/chorus-im/chorus/membership"
)

// Status-rule cases beyond the shared sample, with outcomes derived by hand from status-go's
// source (protocol/v1/membership_update_message.go, messenger_handler.go,
// message_validator.go). TestStatusExtra checks them through the API and writes them, in the
// status-membership vector format, to testdata/status-extra/extra_flows.json (-update), which
// the conformance runner also checks.

var update = flag.Bool("update", false, "rewrite testdata/status-extra/extra_flows.json")

const (
	t0  = uint64(1700000000000)
	now = t0 + 100000
)

type xEvent struct {
	id, author string
	ev         m.Event
	signedFor  string                  // chat id signed over ("" = the case's)
	tamper     func(raw []byte) []byte // modifies the signed entry
	note       string                  // what tamper did
}

type xOut struct {
	ok     bool
	stage  m.Stage
	failed string // event id
	err    string // status-go text; {actor}, {chat}, {recovered:<id>} expanded; <event-id> kept
	state  *xState
}

type xState struct {
	creator, name, color, image string
	members, admins             []string // actor names
	last                        uint64
	order, abridged             []string
	ever                        []string
}

type xStep struct {
	deliver []string // event ids in wire order
	chat    string   // message chat id ("" = the case's)
	raw     []byte   // a raw (malformed) message instead
	group   xOut
	handler xOut
	after   *xState // receiver's stored group after the step (nil: none)
}

type xCase struct {
	id, desc, receiver string
	chat               string // "" = chatIDFor(id, "alice")
	events             []xEvent
	steps              []xStep
}

func cc(clock uint64, name, color string) m.Event {
	return m.Event{Type: m.ChatCreated, Clock: clock, Name: name, Color: color}
}
func ma(clock uint64, who ...string) m.Event {
	return m.Event{Type: m.MembersAdded, Clock: clock, Members: m.MembersOf(pubs(who...)...)}
}
func mr(clock uint64, who ...string) m.Event {
	return m.Event{Type: m.MemberRemoved, Clock: clock, Members: m.MembersOf(pubs(who...)...)}
}
func aa(clock uint64, who ...string) m.Event {
	return m.Event{Type: m.AdminsAdded, Clock: clock, Members: m.MembersOf(pubs(who...)...)}
}
func ar(clock uint64, who ...string) m.Event {
	return m.Event{Type: m.AdminRemoved, Clock: clock, Members: m.MembersOf(pubs(who...)...)}
}
func nc(clock uint64, name string) m.Event {
	return m.Event{Type: m.NameChanged, Clock: clock, Name: name}
}
func mj(clock uint64) m.Event { return m.Event{Type: m.MemberJoined, Clock: clock} }

var secpN, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)

// malleate turns (r, s, v) into the equally valid high-S (r, n-s, v^1).
func malleate(raw []byte) []byte {
	out := bytes.Clone(raw)
	s := new(big.Int).SetBytes(raw[32:64])
	new(big.Int).Sub(secpN, s).FillBytes(out[32:64])
	out[64] ^= 1
	return out
}

func flipPayloadName(from, to string) func([]byte) []byte {
	return func(raw []byte) []byte {
		return bytes.Replace(bytes.Clone(raw), []byte(from), []byte(to), 1)
	}
}

var ok = xOut{ok: true}

func statusExtraCases() []xCase {
	base := func(extra ...xEvent) []xEvent {
		return append([]xEvent{
			{id: "e1", author: "alice", ev: cc(t0, "Group", "#fa6565")},
			{id: "e2", author: "alice", ev: ma(t0+1, "bob")},
		}, extra...)
	}
	created := &xState{creator: "alice", name: "Group", color: "#fa6565", members: []string{"alice", "bob"}, admins: []string{"alice"},
		last: t0 + 1, order: []string{"e1", "e2"}, abridged: []string{"e1", "e2"}, ever: []string{"alice", "bob"}}
	invalid := func(stage m.Stage, id, author string) xOut {
		return xOut{stage: stage, failed: id, err: "invalid event <event-id> from {" + author + "}"}
	}
	groupThenNew := func(id, author string) (xOut, xOut) {
		return invalid(m.StageGroupInit, id, author), invalid(m.StageNewChatGroupInit, id, author)
	}
	one := func(id, desc, receiver string, events []xEvent, deliver []string, g, h xOut, after *xState) xCase {
		return xCase{id: id, desc: desc, receiver: receiver, events: events,
			steps: []xStep{{deliver: deliver, group: g, handler: h, after: after}}}
	}
	var cases []xCase
	add := func(c xCase) { cases = append(cases, c) }

	g, h := groupThenNew("e3", "carol")
	add(one("auth/non_member_renames", "A non-member's NAME_CHANGED is invalid and rejects the whole message.", "bob",
		base(xEvent{id: "e3", author: "carol", ev: nc(t0+2, "Hijack")}), []string{"e1", "e2", "e3"}, g, h, nil))
	g, h = groupThenNew("e3", "bob")
	add(one("auth/member_removes_member", "A member that is not an admin cannot remove another member.", "bob",
		[]xEvent{{id: "e1", author: "alice", ev: cc(t0, "Group", "#fa6565")}, {id: "e2", author: "alice", ev: ma(t0+1, "bob", "carol")},
			{id: "e3", author: "bob", ev: mr(t0+2, "carol")}}, []string{"e1", "e2", "e3"}, g, h, nil))
	g, h = groupThenNew("e4", "alice")
	add(one("auth/admin_removes_admin", "An admin cannot remove another admin.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: aa(t0+2, "bob")}, xEvent{id: "e4", author: "alice", ev: mr(t0+3, "bob")}),
		[]string{"e1", "e2", "e3", "e4"}, g, h, nil))
	st := &xState{creator: "alice", name: "Group", color: "#fa6565", members: []string{"alice", "bob"}, admins: []string{"alice"},
		last: t0 + 2, order: []string{"e1", "e2", "e3"}, abridged: []string{"e1", "e2"}, ever: []string{"alice", "bob"}}
	add(one("quirk/non_member_self_removal", "MEMBER_REMOVED of oneself needs no membership: a stranger's self-removal is valid and changes nothing.", "bob",
		base(xEvent{id: "e3", author: "dave", ev: mr(t0+2, "dave")}), []string{"e1", "e2", "e3"}, xOut{ok: true, state: st}, ok, st))
	st = &xState{creator: "alice", name: "Group", color: "#fa6565", members: []string{"alice", "bob"}, admins: []string{"alice", "eve", "bob"},
		last: t0 + 2, order: []string{"e1", "e2", "e3"}, abridged: []string{"e1", "e2", "e3"}, ever: []string{"alice", "bob"}}
	add(one("quirk/admins_added_intersection", "ADMINS_ADDED only needs its list to intersect the members: the non-member eve becomes admin too.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: aa(t0+2, "eve", "bob")}), []string{"e1", "e2", "e3"}, xOut{ok: true, state: st}, ok, st))
	g, h = groupThenNew("e3", "alice")
	add(one("auth/admins_added_non_members", "ADMINS_ADDED naming no member is invalid.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: aa(t0+2, "eve")}), []string{"e1", "e2", "e3"}, g, h, nil))
	g, h = groupThenNew("e4", "alice")
	add(one("auth/admin_removed_other", "ADMIN_REMOVED must name its author.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: aa(t0+2, "bob")}, xEvent{id: "e4", author: "alice", ev: ar(t0+3, "bob")}),
		[]string{"e1", "e2", "e3", "e4"}, g, h, nil))
	g, h = groupThenNew("e2", "alice")
	add(one("order/clock_below_chat_created", "An event with a clock lower than CHAT_CREATED sorts first and is invalid.", "bob",
		[]xEvent{{id: "e1", author: "alice", ev: cc(t0+5, "Group", "#fa6565")}, {id: "e2", author: "alice", ev: ma(t0, "bob")}},
		[]string{"e1", "e2"}, g, h, nil))
	g, h = groupThenNew("e3", "recovered:e3")
	add(one("signature/tampered_payload", "A payload changed after signing recovers to an unrelated key, whose event is invalid.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: nc(t0+2, "Renamed"), tamper: flipPayloadName("Renamed", "Hackedd"), note: "name changed after signing"}),
		[]string{"e1", "e2", "e3"}, g, h, nil))
	g, h = groupThenNew("e3", "recovered:e3")
	add(one("signature/signed_for_other_chat", "An event signed for another chat id recovers to an unrelated key here.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: nc(t0+2, "Other"), signedFor: chatIDFor("other", "alice")}),
		[]string{"e1", "e2", "e3"}, g, h, nil))
	v27 := xOut{stage: m.StageEventParse, failed: "e2", err: "failed to extract signature: invalid signature recovery id"}
	add(one("signature/v27", "V = 27 (Ethereum style) is not accepted: the whole message is dropped.", "bob",
		[]xEvent{{id: "e1", author: "alice", ev: cc(t0, "Group", "#fa6565")},
			{id: "e2", author: "alice", ev: ma(t0+1, "bob"), tamper: func(r []byte) []byte { r = bytes.Clone(r); r[64] += 27; return r }, note: "V += 27"}},
		[]string{"e1", "e2"}, v27, v27, nil))
	short := xOut{stage: m.StageEventParse, failed: "e2", err: "invalid payload length"}
	add(one("signature/short_entry", "An entry of 65 bytes or less is rejected.", "bob",
		[]xEvent{{id: "e1", author: "alice", ev: cc(t0, "Group", "#fa6565")},
			{id: "e2", author: "alice", ev: ma(t0+1, "bob"), tamper: func(r []byte) []byte { return bytes.Clone(r[:65]) }, note: "payload cut"}},
		[]string{"e1", "e2"}, short, short, nil))
	high := &xState{creator: "alice", name: "Group", color: "#fa6565", members: []string{"alice", "bob"}, admins: []string{"alice"},
		last: t0 + 1, order: []string{"e1", "e2m"}, abridged: []string{"e1", "e2m"}, ever: []string{"alice", "bob"}}
	add(one("signature/high_s_accepted", "A high-S (malleated) signature recovers the same author and is accepted.", "bob",
		[]xEvent{{id: "e1", author: "alice", ev: cc(t0, "Group", "#fa6565")},
			{id: "e2m", author: "alice", ev: ma(t0+1, "bob"), tamper: malleate, note: "s -> n-s, v ^= 1"}},
		[]string{"e1", "e2m"}, xOut{ok: true, state: high}, ok, high))
	add(xCase{id: "wire/not_protobuf", desc: "Bytes that are not a MembershipUpdateMessage.", receiver: "bob",
		steps: []xStep{{raw: []byte{0x0a, 0x05, 'a'},
			group:   xOut{stage: m.StageProtobuf, err: "proto: cannot parse invalid wire-format data"},
			handler: xOut{stage: m.StageProtobuf, err: "proto: cannot parse invalid wire-format data"}}}})

	chatErr := func(stage m.Stage) xOut { return xOut{stage: stage, err: "invalid chat ID: {chat}"} }
	otherSuffix := chatIDFor("suffix", "bob")
	add(xCase{id: "chat_id/suffix_of_other_key", desc: "The chat id must end with the creator's key.", receiver: "bob", chat: otherSuffix,
		events: base(), steps: []xStep{{deliver: []string{"e1", "e2"}, group: chatErr(m.StageGroupInit), handler: chatErr(m.StageNewChatGroupInit)}}})
	add(xCase{id: "chat_id/equals_creator_key", desc: "The chat id must not be the creator's key alone.", receiver: "bob", chat: actors["alice"].pub,
		events: base(), steps: []xStep{{deliver: []string{"e1", "e2"}, group: chatErr(m.StageGroupInit), handler: chatErr(m.StageNewChatGroupInit)}}})
	upper := chatIDFor("upper", "alice")
	upper = upper[:37] + strings.ToUpper(upper[37:])
	add(xCase{id: "chat_id/uppercase_key", desc: "The suffix check is case-sensitive.", receiver: "bob", chat: upper,
		events: base(), steps: []xStep{{deliver: []string{"e1", "e2"}, group: chatErr(m.StageGroupInit), handler: chatErr(m.StageNewChatGroupInit)}}})
	anyPrefix := &xState{creator: "alice", name: "Group", color: "#fa6565", members: []string{"alice", "bob"}, admins: []string{"alice"},
		last: t0 + 1, order: []string{"e1", "e2"}, abridged: []string{"e1", "e2"}, ever: []string{"alice", "bob"}}
	add(xCase{id: "chat_id/prefix_not_checked", desc: "The UUID part is not checked.", receiver: "bob", chat: "not-a-uuid-" + actors["alice"].pub,
		events: base(), steps: []xStep{{deliver: []string{"e1", "e2"}, group: xOut{ok: true, state: anyPrefix}, handler: ok, after: anyPrefix}}})

	future := &xState{creator: "alice", name: "Later", color: "#fa6565", members: []string{"alice", "bob"}, admins: []string{"alice"},
		last: now + 120000, order: []string{"e1", "e2", "e3"}, abridged: []string{"e1", "e2", "e3"}, ever: []string{"alice", "bob"}}
	add(one("clock/too_far_in_future", "The handler rejects a clock more than 120 s ahead of now; the pure group does not check clocks.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: nc(now+120001, "Later")}), []string{"e1", "e2", "e3"},
		ok, xOut{stage: m.StageClock, failed: "e3", err: "clock value too high"}, nil))
	add(one("clock/at_drift_limit", "A clock exactly 120 s ahead of now is accepted.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: nc(now+120000, "Later")}), []string{"e1", "e2", "e3"},
		xOut{ok: true, state: future}, ok, future))
	add(one("clock/zero", "The handler rejects a zero clock.", "bob",
		[]xEvent{{id: "e1", author: "alice", ev: cc(0, "Group", "#fa6565")}, {id: "e2", author: "alice", ev: ma(t0+1, "bob")}},
		[]string{"e1", "e2"}, ok, xOut{stage: m.StageClock, failed: "e1", err: "clock can't be 0"}, nil))

	add(one("handler/receiver_never_member", "A new chat must have contained the receiver.", "carol", base(), []string{"e1", "e2"},
		ok, xOut{stage: m.StageNewChat, err: "can't create a new group chat without us being a member"}, nil))
	removed := &xState{creator: "alice", name: "Group", color: "#fa6565", members: []string{"alice", "bob"}, admins: []string{"alice"},
		last: t0 + 2, order: []string{"e1", "e2", "e3"}, abridged: []string{"e1", "e2", "e3"}, ever: []string{"alice", "bob", "carol"}}
	add(one("handler/receiver_removed_was_member", "A receiver added then removed was a member once: the chat is created.", "carol",
		[]xEvent{{id: "e1", author: "alice", ev: cc(t0, "Group", "#fa6565")}, {id: "e2", author: "alice", ev: ma(t0+1, "bob", "carol")},
			{id: "e3", author: "alice", ev: mr(t0+2, "carol")}}, []string{"e1", "e2", "e3"}, xOut{ok: true, state: removed}, ok, removed))
	add(one("handler/member_not_hex", "Every member of a new chat must parse as a public key.", "bob",
		[]xEvent{{id: "e1", author: "alice", ev: cc(t0, "Group", "#fa6565")}, {id: "e2", author: "alice", ev: ma(t0+1, "bob", "0xzz")}},
		[]string{"e1", "e2"}, ok, xOut{stage: m.StageNewChat, err: "failed to get group members: invalid hex string"}, nil))
	add(one("handler/member_not_on_curve", "A member string that is not a curve point fails the new chat.", "bob",
		[]xEvent{{id: "e1", author: "alice", ev: cc(t0, "Group", "#fa6565")}, {id: "e2", author: "alice", ev: ma(t0+1, "bob", "0x04"+strings.Repeat("f", 128))}},
		[]string{"e1", "e2"}, ok, xOut{stage: m.StageNewChat, err: "failed to get group members: invalid secp256k1 public key"}, nil))

	ext := &xState{creator: "alice", name: "New", color: "#fa6565", members: []string{"alice", "bob"}, admins: []string{"alice"},
		last: t0 + 3, order: []string{"e1", "e2", "e3", "e4"}, abridged: []string{"e1", "e2", "e3", "e4"}, ever: []string{"alice", "bob"}}
	add(xCase{id: "merge/full_log_then_extension", desc: "A second full log with new events merges.", receiver: "bob",
		events: base(xEvent{id: "e3", author: "alice", ev: nc(t0+2, "New")}, xEvent{id: "e4", author: "bob", ev: mj(t0 + 3)}),
		steps: []xStep{
			{deliver: []string{"e1", "e2"}, group: ok, handler: ok, after: created},
			{deliver: []string{"e1", "e2", "e3", "e4"}, group: xOut{ok: true, state: ext}, handler: ok, after: ext},
		}})
	add(xCase{id: "merge/partial_log_rejected", desc: "A message must form a valid group on its own, even for a known chat.", receiver: "bob",
		events: base(xEvent{id: "e3", author: "alice", ev: nc(t0+2, "New")}),
		steps: []xStep{
			{deliver: []string{"e1", "e2"}, group: ok, handler: ok, after: created},
			{deliver: []string{"e3"}, group: invalid(m.StageGroupInit, "e3", "alice"),
				handler: xOut{stage: m.StageUpdateInit, failed: "e3", err: "invalid membership update: invalid event <event-id> from {alice}"}, after: created},
		}})
	left := &xState{creator: "alice", name: "Group", color: "#fa6565", members: []string{"alice", "carol"}, admins: []string{"alice"},
		last: t0 + 2, order: []string{"e1", "e2", "e3"}, abridged: []string{"e1", "e2", "e3"}, ever: []string{"alice", "bob", "carol"}}
	add(xCase{id: "merge/divergent_histories", desc: "Each message is valid alone but the merge is not: the incoming message is rejected.", receiver: "carol",
		events: []xEvent{{id: "e1", author: "alice", ev: cc(t0, "Group", "#fa6565")}, {id: "e2", author: "alice", ev: ma(t0+1, "bob", "carol")},
			{id: "e3", author: "bob", ev: mr(t0+2, "bob")}, {id: "e4", author: "alice", ev: aa(t0+3, "bob")}},
		steps: []xStep{
			{deliver: []string{"e1", "e2", "e3"}, group: ok, handler: ok, after: left},
			{deliver: []string{"e1", "e2", "e4"}, group: ok,
				handler: xOut{stage: m.StageMergeInit, failed: "e4", err: "failed to create a group with new membership updates: invalid event <event-id> from {alice}"}, after: left},
		}})
	add(xCase{id: "merge/malleated_duplicate", desc: "De-duplication is by signature bytes: a malleated CHAT_CREATED is a second CHAT_CREATED.", receiver: "bob",
		events: base(xEvent{id: "e1m", author: "alice", ev: cc(t0, "Group", "#fa6565"), tamper: malleate, note: "copy of e1 with s -> n-s, v ^= 1"}),
		steps: []xStep{
			{deliver: []string{"e1", "e2"}, group: ok, handler: ok, after: created},
			{deliver: []string{"e1m", "e2"}, group: ok,
				handler: xOut{stage: m.StageMergeInit, failed: "e1m", err: "failed to create a group with new membership updates: invalid event <event-id> from {alice}"}, after: created},
		}})
	chatB := chatIDFor("merge/other_chat_b", "alice")
	add(xCase{id: "merge/other_chat_is_a_new_chat", desc: "A message for another chat id takes the new-chat path; the stored chat is untouched.", receiver: "bob",
		events: base(xEvent{id: "f1", author: "alice", ev: cc(t0+5, "B", "#7cda00"), signedFor: chatB},
			xEvent{id: "f2", author: "alice", ev: ma(t0+6, "carol"), signedFor: chatB}),
		steps: []xStep{
			{deliver: []string{"e1", "e2"}, group: ok, handler: ok, after: created},
			{deliver: []string{"f1", "f2"}, chat: chatB, group: ok,
				handler: xOut{stage: m.StageNewChat, err: "can't create a new group chat without us being a member"}, after: created},
		}})
	add(xCase{id: "merge/same_log_twice", desc: "Receiving the same log again changes nothing.", receiver: "bob", events: base(),
		steps: []xStep{
			{deliver: []string{"e1", "e2"}, group: ok, handler: ok, after: created},
			{deliver: []string{"e2", "e1"}, group: ok, handler: ok, after: created},
		}})

	tieA := &xState{creator: "alice", name: "Group", color: "#fa6565", members: []string{"alice"}, admins: []string{"alice"},
		last: t0 + 1, order: []string{"e1", "e2", "e3"}, abridged: []string{"e1"}, ever: []string{"alice", "bob"}}
	tieB := &xState{creator: "alice", name: "Group", color: "#fa6565", members: []string{"alice", "bob"}, admins: []string{"alice"},
		last: t0 + 1, order: []string{"e1", "e3", "e2"}, abridged: []string{"e1", "e2"}, ever: []string{"alice", "bob"}}
	ties := base(xEvent{id: "e3", author: "bob", ev: mr(t0+1, "bob")})
	add(one("order/equal_clocks_wire_order_a", "Equal clocks keep wire order (insertion sort): added, then leaves.", "bob",
		ties, []string{"e1", "e2", "e3"}, xOut{ok: true, state: tieA}, ok, tieA))
	add(one("order/equal_clocks_wire_order_b", "Equal clocks keep wire order: the self-removal comes first, then the add.", "bob",
		ties, []string{"e1", "e3", "e2"}, xOut{ok: true, state: tieB}, ok, tieB))
	recreated := &xState{creator: "alice", name: "C", color: "#887af9", members: []string{"carol"}, admins: []string{"carol"},
		last: t0 + 2, order: []string{"e1", "e2", "e3"}, abridged: []string{"e1", "e3"}, ever: []string{"alice"}}
	add(one("quirk/recreate_after_empty", "A group whose only member left is empty, and anyone's CHAT_CREATED is valid again.", "alice",
		[]xEvent{{id: "e1", author: "alice", ev: cc(t0, "A", "#fa6565")}, {id: "e2", author: "alice", ev: mr(t0+1, "alice")},
			{id: "e3", author: "carol", ev: cc(t0+2, "C", "#887af9")}}, []string{"e1", "e2", "e3"}, xOut{ok: true, state: recreated}, ok, recreated))
	g, h = groupThenNew("e3", "dave")
	add(one("auth/member_joined_by_non_member", "MEMBER_JOINED needs a member.", "bob",
		base(xEvent{id: "e3", author: "dave", ev: mj(t0 + 2)}), []string{"e1", "e2", "e3"}, g, h, nil))
	g, h = groupThenNew("e3", "alice")
	add(one("validation/empty_name", "NAME_CHANGED needs a non-empty name.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: nc(t0+2, "")}), []string{"e1", "e2", "e3"}, g, h, nil))
	add(one("validation/empty_image", "IMAGE_CHANGED needs a non-empty image.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: m.Event{Type: m.ImageChanged, Clock: t0 + 2}}), []string{"e1", "e2", "e3"}, g, h, nil))
	add(one("validation/description_changed", "status-go rejects the Chorus DESCRIPTION_CHANGED type.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: m.Event{Type: m.DescriptionChanged, Clock: t0 + 2, Description: "about"}}), []string{"e1", "e2", "e3"}, g, h, nil))
	add(one("validation/member_removed_two_targets", "MEMBER_REMOVED takes exactly one target.", "bob",
		base(xEvent{id: "e3", author: "alice", ev: mr(t0+2, "bob", "carol")}), []string{"e1", "e2", "e3"}, g, h, nil))
	return cases
}

// built is a case with signed events and encoded messages.
type built struct {
	c      xCase
	chat   string
	raw    map[string][]byte // event id -> wire entry
	msgs   [][]byte
	signer []string
}

func buildCase(t testing.TB, c xCase) *built {
	b := &built{c: c, chat: c.chat, raw: map[string][]byte{}}
	if b.chat == "" {
		b.chat = chatIDFor(c.id, "alice")
	}
	for _, e := range c.events {
		signed := e.signedFor
		if signed == "" {
			signed = b.chat
		}
		ev := sign(t, e.author, signed, e.ev)
		raw := ev.Raw()
		if e.tamper != nil {
			raw = e.tamper(raw)
		}
		b.raw[e.id] = raw
	}
	for _, s := range c.steps {
		if s.raw != nil {
			b.msgs = append(b.msgs, s.raw)
			b.signer = append(b.signer, "alice")
			continue
		}
		chat := s.chat
		if chat == "" {
			chat = b.chat
		}
		var entries [][]byte
		signer, best := "alice", uint64(0)
		for _, id := range s.deliver {
			entries = append(entries, b.raw[id])
			for _, e := range c.events {
				if e.id == id && e.ev.Clock >= best {
					best, signer = e.ev.Clock, e.author
				}
			}
		}
		b.msgs = append(b.msgs, encodeRaw(t, chat, entries...))
		b.signer = append(b.signer, signer)
	}
	return b
}

// expandErr expands placeholders of an expected error.
func (b *built) expandErr(t testing.TB, s string) string {
	if i := strings.Index(s, "{recovered:"); i >= 0 {
		j := strings.Index(s[i:], "}")
		id := s[i+len("{recovered:") : i+j]
		raw := b.raw[id]
		d := m.SigningDigest(b.chat, raw[65:])
		pub, err := crypto.Ecrecover(d[:], raw[:65])
		if err != nil {
			t.Fatal(err)
		}
		s = s[:i] + "0x" + hex.EncodeToString(pub) + s[i+j+1:]
	}
	return expand(s, b.chat)
}

func (b *built) idOf(entry []byte) string {
	for id, r := range b.raw {
		if bytes.Equal(r, entry) {
			return id
		}
	}
	if entry == nil {
		return ""
	}
	return "?"
}

func (b *built) checkOut(t *testing.T, what string, want xOut, st m.State, err error) {
	t.Helper()
	if want.ok != (err == nil) {
		t.Fatalf("%s: accepted = %v, want %v (err %v)", what, err == nil, want.ok, err)
	}
	if err != nil {
		var re *m.RejectError
		if !errors.As(err, &re) {
			t.Fatalf("%s: error %T %v is not a *RejectError", what, err, err)
		}
		if re.Stage != want.stage {
			t.Errorf("%s: stage %s, want %s", what, re.Stage, want.stage)
		}
		if got := b.idOf(re.Entry); got != want.failed {
			t.Errorf("%s: failed event %q, want %q", what, got, want.failed)
		}
		gotText := strings.ReplaceAll(re.Err.Error(), "\u00a0", " ")
		if wantText := b.expandErr(t, want.err); gotText != wantText {
			t.Errorf("%s: error\n got %q\nwant %q", what, gotText, wantText)
		}
		return
	}
	if want.state != nil {
		b.checkState(t, what, want.state, st)
	}
}

func (b *built) checkState(t *testing.T, what string, want *xState, st m.State) {
	t.Helper()
	eq := func(field string, got, want any) {
		t.Helper()
		if !equalAny(got, want) {
			t.Errorf("%s: %s = %v, want %v", what, field, got, want)
		}
	}
	eq("chat", st.ChatID, b.chat)
	eq("creator", st.Creator, actors[want.creator].pub)
	eq("name", st.Name, want.name)
	eq("color", st.Color, want.color)
	eq("image", hex.EncodeToString(st.Image), want.image)
	eq("members", names(st.Members.Strings()), names(pubs(want.members...)))
	eq("admins", names(st.Admins), names(pubs(want.admins...)))
	eq("last clock", st.LastClock, want.last)
	eq("order", b.ids(st.Events), strings.Join(want.order, ","))
	eq("abridged", b.ids(st.AbridgedEvents()), strings.Join(want.abridged, ","))
	for _, n := range actorNames {
		eq("was ever member "+n, st.WasEverMember(actors[n].pub), contains(want.ever, n))
	}
}

func (b *built) ids(evs []m.Event) string {
	out := make([]string, len(evs))
	for i := range evs {
		out[i] = b.idOf(evs[i].Raw())
	}
	return strings.Join(out, ",")
}

func equalAny(a, b any) bool { return a == b }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestStatusExtra(t *testing.T) {
	cases := statusExtraCases()
	var all []*built
	for _, c := range cases {
		b := buildCase(t, c)
		all = append(all, b)
		t.Run(c.id, func(t *testing.T) {
			chats := map[string]*m.State{}
			self := actors[c.receiver].pub
			for i, s := range c.steps {
				msg, err := m.ParseMessage(b.msgs[i])
				var st m.State
				if err == nil {
					st, err = m.Derive(msg.ChatID, msg.Events, m.StatusRules())
				}
				b.checkOut(t, "group", s.group, st, err)
				target := b.chat
				if s.chat != "" {
					target = s.chat
				}
				st, _, err = m.Update(chats[target], b.msgs[i], self, time.UnixMilli(int64(now)), m.StatusRules())
				b.checkOut(t, "handler", s.handler, st, err)
				if err == nil {
					chats[st.ChatID] = &st
				}
				stored := chats[b.chat]
				switch {
				case s.after == nil && stored != nil:
					t.Errorf("step %d: receiver has a chat, want none", i)
				case s.after != nil && stored == nil:
					t.Errorf("step %d: receiver has no chat", i)
				case s.after != nil:
					b.checkState(t, "receiver after", s.after, *stored)
				}
			}
		})
	}
	out := statusExtraJSON(t, all)
	path := filepath.Join("testdata", "status-extra", "extra_flows.json")
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(have, out) {
		t.Fatalf("%s is stale or missing (run go test ./membership -run TestStatusExtra -update): %v", path, err)
	}
}
