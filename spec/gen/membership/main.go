// Command membership writes the Chorus-rules conformance vectors of package membership
// (spec/README.md, ## membership) to DIR/membership.json.
//
// Every case is a message delivered to its creator, who has no chat yet: the expected state
// (or error class) is written by hand below and the generator fails if the implementation
// disagrees. Keys are sha256("chorus-membership-vectors/v1/<name>"); signatures are RFC 6979
// deterministic, so the output is byte-reproducible.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/proto"

	m "github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/membership/pb"
)

const (
	t0    = uint64(1700000000000)
	nowMs = t0 + 100000
)

var names = []string{"alice", "bob", "carol", "dave", "eve"}

type actor struct {
	key *ecdsa.PrivateKey
	pub string
}

var actors = map[string]*actor{}

func init() {
	for _, n := range names {
		d := sha256.Sum256([]byte("chorus-membership-vectors/v1/" + n))
		k, err := crypto.ToECDSA(d[:])
		if err != nil {
			panic(err)
		}
		actors[n] = &actor{key: k, pub: m.PublicKeyString(&k.PublicKey)}
	}
}

func keys(ns ...string) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = actors[n].pub
	}
	return out
}

func chatID(label string) string {
	d := sha256.Sum256([]byte("chorus-membership-vectors/v1/uuid/" + label))
	d[6] = d[6]&0x0f | 0x40
	d[8] = d[8]&0x3f | 0x80
	h := hex.EncodeToString(d[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32] + "-" + actors["alice"].pub
}

// ev describes one entry: author, event fields, and an optional change to the signed entry.
type ev struct {
	label, author string
	e             m.Event
	mutate        func([]byte) []byte
	note          string
	parents       []string            // labels of earlier entries (causal rules); "?name" names a missing event
	payload       func([]byte) []byte // changes the encoded event before it is signed
}

type want struct {
	expect               string // "success" or an error class
	creator, name, color string
	description, image   string
	members, admins      []string
	last                 uint64
	applied, pending     []string
	overridden, heads    []string
	reverse              bool                                                                              // deliver the entries in reverse signing order
	orderedByHash        func(c *built) (applied, pending []string, name string, members, admins []string) // for tie-break cases
}

type scenario struct {
	name, desc string
	entries    []ev // signing order; delivered in this order, or reversed (want.reverse)
	want       want
}

type built struct {
	chat string
	raw  map[string][]byte
}

var secpN, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)

func malleate(raw []byte) []byte {
	out := bytes.Clone(raw)
	s := new(big.Int).SetBytes(raw[32:64])
	new(big.Int).Sub(secpN, s).FillBytes(out[32:64])
	out[64] ^= 1
	return out
}

func cc(c uint64) m.Event {
	return m.Event{Type: m.ChatCreated, Clock: c, Name: "Group", Color: "#fa6565"}
}
func ma(c uint64, who ...string) m.Event {
	return m.Event{Type: m.MembersAdded, Clock: c, Members: keys(who...)}
}
func mr(c uint64, who ...string) m.Event {
	return m.Event{Type: m.MemberRemoved, Clock: c, Members: keys(who...)}
}
func aa(c uint64, who ...string) m.Event {
	return m.Event{Type: m.AdminsAdded, Clock: c, Members: keys(who...)}
}
func ar(c uint64, who ...string) m.Event {
	return m.Event{Type: m.AdminRemoved, Clock: c, Members: keys(who...)}
}
func nc(c uint64, n string) m.Event { return m.Event{Type: m.NameChanged, Clock: c, Name: n} }

// orderKey recomputes the specified total-order key independently of the package:
// (clock, SHA-256(OrderLabel || 0x00 || author key string || Keccak256(chat id || payload))).
func orderKey(chat string, raw []byte, author string) string {
	h := sha256.New()
	h.Write([]byte("chorus/v1/membership/order"))
	h.Write([]byte{0})
	h.Write([]byte(author))
	h.Write(crypto.Keccak256([]byte(chat), raw[65:]))
	return hex.EncodeToString(h.Sum(nil))
}

func scenarios() []scenario {
	g := ev{label: "g", author: "alice", e: cc(t0)}
	std := func(members, admins []string, last uint64, applied, pending []string) want {
		return want{expect: "success", creator: "alice", name: "Group", color: "#fa6565",
			members: members, admins: admins, last: last, applied: applied, pending: pending}
	}
	ab := []string{"alice", "bob"}
	a := []string{"alice"}
	var out []scenario
	out = append(out, causalScenarios()...)
	out = append(out, scenario{"create", "CHAT_CREATED alone: the creator is the only member and admin.",
		[]ev{g}, std(a, a, t0, []string{"g"}, nil)})
	rich := m.Event{Type: m.ChatCreated, Clock: t0, Name: "Team", Color: "#887af9", Description: "What we do", Image: []byte("png")}
	out = append(out, scenario{"create_with_description_and_image", "Chorus honours CHAT_CREATED's image and description.",
		[]ev{{label: "g", author: "alice", e: rich}},
		want{expect: "success", creator: "alice", name: "Team", color: "#887af9", description: "What we do", image: hex.EncodeToString([]byte("png")),
			members: a, admins: a, last: t0, applied: []string{"g"}}})
	out = append(out, scenario{"admin_adds_members", "An admin adds members (insertion order).",
		[]ev{{label: "add", author: "alice", e: ma(t0+1, "bob", "carol")}, g},
		std([]string{"alice", "bob", "carol"}, a, t0+1, []string{"g", "add"}, nil)})
	out = append(out, scenario{"member_cannot_add", "A non-admin's MEMBERS_ADDED is dropped on its own; the rest applies.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "bobadd", author: "bob", e: ma(t0+2, "carol")},
			{label: "rename", author: "alice", e: nc(t0+3, "Renamed")}},
		func() want {
			w := std(ab, a, t0+3, []string{"g", "add", "rename"}, []string{"bobadd"})
			w.name = "Renamed"
			return w
		}()})
	out = append(out, scenario{"member_cannot_rename", "A non-admin's NAME_CHANGED is dropped; a later admin rename applies.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "bobname", author: "bob", e: nc(t0+2, "Bob's")},
			{label: "alicename", author: "alice", e: nc(t0+3, "Alice's")}},
		func() want {
			w := std(ab, a, t0+3, []string{"g", "add", "alicename"}, []string{"bobname"})
			w.name = "Alice's"
			return w
		}()})
	out = append(out, scenario{"description_changed", "DESCRIPTION_CHANGED (type 100, field 100) by an admin.",
		[]ev{g, {label: "desc", author: "alice", e: m.Event{Type: m.DescriptionChanged, Clock: t0 + 1, Description: "Hello"}}},
		func() want {
			w := std(a, a, t0+1, []string{"g", "desc"}, nil)
			w.description = "Hello"
			return w
		}()})
	out = append(out, scenario{"admin_cannot_remove_admin", "Admins cannot remove admins.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "promote", author: "alice", e: aa(t0+2, "bob")},
			{label: "kick", author: "alice", e: mr(t0+3, "bob")}},
		std(ab, ab, t0+2, []string{"g", "add", "promote"}, []string{"kick"})})
	out = append(out, scenario{"member_leaves", "A member leaves.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob", "carol")}, {label: "leave", author: "bob", e: mr(t0+2, "bob")}},
		std([]string{"alice", "carol"}, a, t0+2, []string{"g", "add", "leave"}, nil)})
	out = append(out, scenario{"admin_removes_member", "An admin removes a member; a member cannot.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob", "carol")}, {label: "bobkick", author: "bob", e: mr(t0+2, "alice")},
			{label: "kick", author: "alice", e: mr(t0+3, "carol")}},
		std(ab, a, t0+3, []string{"g", "add", "kick"}, []string{"bobkick"})})
	out = append(out, scenario{"admin_steps_down", "An admin drops its own admin right; it cannot drop another's.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "promote", author: "alice", e: aa(t0+2, "bob")},
			{label: "demoteother", author: "alice", e: ar(t0+3, "bob")}, {label: "stepdown", author: "bob", e: ar(t0+4, "bob")}},
		std(ab, a, t0+4, []string{"g", "add", "promote", "stepdown"}, []string{"demoteother"})})
	out = append(out, scenario{"admins_added_requires_members", "ADMINS_ADDED needs every target to be a member.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "promote", author: "alice", e: aa(t0+2, "bob", "eve")}},
		std(ab, a, t0+1, []string{"g", "add"}, []string{"promote"})})
	out = append(out, scenario{"before_genesis_pending", "Events with a clock below CHAT_CREATED are not applied.",
		[]ev{{label: "early", author: "alice", e: ma(t0, "bob")}, {label: "g", author: "alice", e: cc(t0 + 5)}},
		std(a, a, t0+5, []string{"g"}, []string{"early"})})
	out = append(out, scenario{"genesis_by_other_key", "Only a CHAT_CREATED by the key the chat id names is the genesis.",
		[]ev{{label: "fake", author: "carol", e: cc(t0)}, {label: "g", author: "alice", e: cc(t0 + 1)}},
		std(a, a, t0+1, []string{"g"}, []string{"fake"})})
	out = append(out, scenario{"no_genesis", "Without a CHAT_CREATED by the chat id's key there is no group.",
		[]ev{{label: "fake", author: "carol", e: cc(t0)}, {label: "add", author: "alice", e: ma(t0+1, "bob")}},
		want{expect: "no_genesis"}})
	out = append(out, scenario{"unrecoverable_signature_discarded", "An entry whose signature does not recover (V = 27) is discarded alone.",
		[]ev{g, {label: "v27", author: "alice", e: ma(t0+1, "bob"), mutate: func(r []byte) []byte { r = bytes.Clone(r); r[64] += 27; return r }, note: "V += 27"},
			{label: "add", author: "alice", e: ma(t0+2, "carol")}},
		std([]string{"alice", "carol"}, a, t0+2, []string{"g", "add"}, nil)})
	out = append(out, scenario{"tampered_payload_is_a_stranger", "A payload changed after signing recovers to an unrelated key: not an admin.",
		[]ev{g, {label: "tampered", author: "alice", e: nc(t0+1, "Renamed"),
			mutate: func(r []byte) []byte { return bytes.Replace(bytes.Clone(r), []byte("Renamed"), []byte("Hackedd"), 1) }, note: "name changed after signing"}},
		std(a, a, t0, []string{"g"}, []string{"tampered"})})
	out = append(out, scenario{"malleated_duplicate_is_one_event", "A malleated signature (s -> n-s) is the same event; the smaller entry is kept.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "add'", author: "alice", e: ma(t0+1, "bob"), mutate: malleate, note: "s -> n-s, v ^= 1"}},
		std(ab, a, t0+1, []string{"g", "add|add'"}, nil)})
	out = append(out, scenario{"exact_duplicate", "The same entry twice is one event.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "add", author: "alice", e: ma(t0+1, "bob")}},
		std(ab, a, t0+1, []string{"g", "add"}, nil)})
	out = append(out, scenario{"member_joined_discarded", "MEMBER_JOINED changes nothing: neither applied nor kept (a member could otherwise grow everyone's log without bound).",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "joined", author: "bob", e: m.Event{Type: m.MemberJoined, Clock: t0 + 2}},
			{label: "joined2", author: "bob", e: m.Event{Type: m.MemberJoined, Clock: t0 + 3}}},
		std(ab, a, t0+1, []string{"g", "add"}, nil)})
	out = append(out, scenario{"readd_after_leave", "A member who left can be added again.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "leave", author: "bob", e: mr(t0+2, "bob")},
			{label: "readd", author: "alice", e: ma(t0+3, "bob")}},
		std(ab, a, t0+3, []string{"g", "add", "leave", "readd"}, nil)})
	out = append(out, scenario{"empty_image_clears", "IMAGE_CHANGED with no image clears it.",
		[]ev{{label: "g", author: "alice", e: m.Event{Type: m.ChatCreated, Clock: t0, Name: "Group", Color: "#fa6565", Image: []byte{1, 2}}},
			{label: "clear", author: "alice", e: m.Event{Type: m.ImageChanged, Clock: t0 + 1}}},
		std(a, a, t0+1, []string{"g", "clear"}, nil)})
	upper := strings.ToUpper(actors["bob"].pub[2:])
	out = append(out, scenario{"non_canonical_member_key", "Members must be written exactly as PublicKeyString writes them.",
		[]ev{g, {label: "add", author: "alice", e: m.Event{Type: m.MembersAdded, Clock: t0 + 1, Members: []string{"0x" + upper}}}},
		std(a, a, t0, []string{"g"}, []string{"add"})})
	out = append(out, scenario{"last_admin_leaves", "The last admin may leave; the group then has no admin.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "leave", author: "alice", e: mr(t0+2, "alice")}},
		func() want { w := std([]string{"bob"}, nil, t0+2, []string{"g", "add", "leave"}, nil); return w }()})
	out = append(out, scenario{"future_clock_dropped", "On receipt, an event more than 120 s ahead of now is dropped (not kept).",
		[]ev{g, {label: "future", author: "alice", e: ma(nowMs+120001, "bob")}, {label: "limit", author: "alice", e: ma(nowMs+120000, "carol")}},
		std([]string{"alice", "carol"}, a, nowMs+120000, []string{"g", "limit"}, nil)})
	// Tie-breaks: equal clocks are ordered by the order hash, recomputed here independently.
	out = append(out, scenario{"tie_concurrent_renames", "Two admins rename at the same clock: the later in hash order wins.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "promote", author: "alice", e: aa(t0+2, "bob")},
			{label: "alicename", author: "alice", e: nc(t0+3, "A")}, {label: "bobname", author: "bob", e: nc(t0+3, "B")}},
		want{expect: "success", orderedByHash: func(c *built) ([]string, []string, string, []string, []string) {
			first, second := tieOrder(c, "alicename", "bob", "alice", "bobname")
			name := map[string]string{"alicename": "A", "bobname": "B"}[second]
			return []string{"g", "add", "promote", first, second}, nil, name, keys("alice", "bob"), keys("alice", "bob")
		}}})
	out = append(out, scenario{"tie_concurrent_remove_and_promote", "At one clock an admin removes carol and another promotes her: the first in hash order wins, the other is pending.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob", "carol")}, {label: "promote", author: "alice", e: aa(t0+2, "bob")},
			{label: "kick", author: "alice", e: mr(t0+3, "carol")}, {label: "promotecarol", author: "bob", e: aa(t0+3, "carol")}},
		want{expect: "success", orderedByHash: func(c *built) ([]string, []string, string, []string, []string) {
			first, second := tieOrder(c, "kick", "bob", "alice", "promotecarol")
			if first == "kick" { // carol gone, the promotion has no member
				return []string{"g", "add", "promote", "kick"}, []string{"promotecarol"}, "Group", keys("alice", "bob"), keys("alice", "bob")
			}
			_ = second // carol became admin, so she cannot be removed
			return []string{"g", "add", "promote", "promotecarol"}, []string{"kick"}, "Group", keys("alice", "bob", "carol"), keys("alice", "bob", "carol")
		}}})
	return out
}

// tieOrder returns the two labels in total order (their clocks are equal).
func tieOrder(c *built, la, authorB, authorA, lb string) (string, string) {
	ka := orderKey(c.chat, c.raw[la], actors[authorA].pub)
	kb := orderKey(c.chat, c.raw[lb], actors[authorB].pub)
	if ka < kb {
		return la, lb
	}
	return lb, la
}

// Vector file format.
type vecActor struct {
	Name          string `json:"name"`
	PrivateKeyHex string `json:"private_key_hex"`
	PublicKey     string `json:"public_key"`
}

type vecEntry struct {
	Label  string `json:"label"`
	Author string `json:"author"`
	RawHex string `json:"raw_hex"`
	Note   string `json:"tampering,omitempty"`
	H      string `json:"h_hex,omitempty"`
}

type vecState struct {
	Creator     string   `json:"creator"`
	Name        string   `json:"name"`
	Color       string   `json:"color"`
	Description string   `json:"description"`
	ImageHex    string   `json:"image_hex"`
	Members     []string `json:"members"`
	Admins      []string `json:"admins"`
	LastClock   uint64   `json:"last_clock"`
	Applied     []string `json:"applied"`
	Pending     []string `json:"pending"`
	Overridden  []string `json:"overridden,omitempty"`
	Heads       []string `json:"heads,omitempty"`
}

type vecCase struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Expect      string     `json:"expect"`
	ChatID      string     `json:"chat_id"`
	Receiver    string     `json:"receiver"`
	NowMs       uint64     `json:"now_ms"`
	Entries     []vecEntry `json:"entries"`
	MessageHex  string     `json:"message_hex"`
	State       *vecState  `json:"state,omitempty"`
}

type vecFile struct {
	Description string     `json:"description"`
	Rules       string     `json:"rules"`
	OrderLabel  string     `json:"order_label"`
	Actors      []vecActor `json:"actors"`
	Cases       []vecCase  `json:"cases"`
}

func main() {
	out := flag.String("out", "spec/vectors", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen membership:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	f := vecFile{
		Description: "Chorus membership rules (membership.ChorusRules): each case delivers one MembershipUpdateMessage (message_hex: chat_id and the entries in order) to its receiver, who has no chat yet, at now_ms; expect is success (with the resulting state: members/admins in order, applied and pending entries by label in total order) or no_genesis. A label 'a|b' means either entry of a duplicate pair (the one with the smaller signature is kept).",
		Rules:       "chorus",
		OrderLabel:  m.OrderLabel,
	}
	for _, n := range names {
		f.Actors = append(f.Actors, vecActor{Name: n, PrivateKeyHex: hex.EncodeToString(actors[n].key.D.FillBytes(make([]byte, 32))), PublicKey: actors[n].pub})
	}
	for _, s := range scenarios() {
		c, err := buildCase(s)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		f.Cases = append(f.Cases, c)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(f); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "membership.json"), buf.Bytes(), 0o644)
}

func buildCase(s scenario) (vecCase, error) {
	b := &built{chat: chatID(s.name), raw: map[string][]byte{}}
	c := vecCase{Name: s.name, Description: s.desc, Expect: s.want.expect, ChatID: b.chat, Receiver: "alice", NowMs: nowMs}
	var entries [][]byte
	ids := map[string]string{} // label -> H (hex), recomputed independently of the package
	for _, e := range s.entries {
		for _, p := range e.parents {
			id, ok := ids[p]
			if strings.HasPrefix(p, "?") {
				d := sha256.Sum256([]byte(p)) // an event nobody has
				id, ok = hex.EncodeToString(d[:]), true
			}
			if !ok {
				return c, fmt.Errorf("parent %s of %s is not an earlier entry", p, e.label)
			}
			raw, _ := hex.DecodeString(id)
			e.e.Parents = append(e.e.Parents, m.EventID(raw))
		}
		signed, err := m.SignEvent(actors[e.author].key, b.chat, e.e)
		if err != nil {
			return c, err
		}
		raw := signed.Raw
		if e.payload != nil {
			pl := e.payload(bytes.Clone(signed.Payload))
			sig, err := crypto.Sign(crypto.Keccak256([]byte(b.chat), pl), actors[e.author].key)
			if err != nil {
				return c, err
			}
			raw = append(sig, pl...)
		}
		if e.mutate != nil {
			raw = e.mutate(raw)
		}
		b.raw[e.label] = raw
		h := orderKey(b.chat, raw, actors[e.author].pub)
		if e.mutate != nil {
			h = "" // the recovered author differs: see the note
		}
		ids[e.label] = h
		entries = append(entries, raw)
		c.Entries = append(c.Entries, vecEntry{Label: e.label, Author: e.author, RawHex: hex.EncodeToString(raw), Note: e.note, H: h})
	}
	if s.want.reverse {
		slices.Reverse(entries)
		slices.Reverse(c.Entries)
	}
	msg, err := proto.Marshal(&pb.MembershipUpdateMessage{ChatId: b.chat, Events: entries})
	if err != nil {
		return c, err
	}
	c.MessageHex = hex.EncodeToString(msg)
	st, _, err := m.Update(nil, msg, actors["alice"].pub, time.UnixMilli(int64(nowMs)), m.ChorusRules())
	if s.want.expect != "success" {
		var re *m.RejectError
		if err == nil || !errors.As(err, &re) || string(re.Stage) != s.want.expect {
			return c, fmt.Errorf("want %s, got %v", s.want.expect, err)
		}
		return c, nil
	}
	if err != nil {
		return c, err
	}
	w := s.want
	members, admins := keys(w.members...), keys(w.admins...)
	applied, pending := append([]string(nil), w.applied...), w.pending
	if w.orderedByHash != nil {
		applied, pending, w.name, members, admins = w.orderedByHash(b)
		w.creator, w.color = "alice", "#fa6565"
		w.last = st.LastClock // equal clocks: whichever applied last
	}
	label := func(evs []m.Event) []string {
		var out []string
		for _, e := range evs {
			var ls []string
			for l, r := range b.raw {
				if bytes.Equal(r, e.Raw) {
					ls = append(ls, l)
				}
			}
			out = append(out, strings.Join(ls, "|"))
		}
		return out
	}
	var heads []string
	for _, h := range st.Heads {
		for l, id := range ids {
			if id == h.String() {
				heads = append(heads, l)
			}
		}
	}
	got := vecState{Creator: st.Creator, Name: st.Name, Color: st.Color, Description: st.Description, ImageHex: hex.EncodeToString(st.Image),
		Members: st.Members, Admins: st.Admins, LastClock: st.LastClock, Applied: label(st.Events), Pending: label(st.Pending),
		Overridden: label(st.Overridden), Heads: heads}
	// Heads are listed ascending by H (hand-written expectations: any order).
	wantHeads := slices.SortedFunc(slices.Values(w.heads), func(x, y string) int { return strings.Compare(ids[x], ids[y]) })
	exp := vecState{Creator: actors[w.creator].pub, Name: w.name, Color: w.color, Description: w.description, ImageHex: w.image,
		Members: members, Admins: admins, LastClock: w.last, Applied: applied, Pending: pending, Overridden: w.overridden, Heads: wantHeads}
	for i, l := range exp.Applied { // "a|b": the duplicate with the smaller signature is kept
		if x, y, ok := strings.Cut(l, "|"); ok {
			exp.Applied[i] = x
			if bytes.Compare(b.raw[y][:65], b.raw[x][:65]) < 0 {
				exp.Applied[i] = y
			}
		}
	}
	if err := sameState(exp, got); err != nil {
		return c, err
	}
	for _, l := range []*[]string{&got.Members, &got.Admins, &got.Applied, &got.Pending} {
		if *l == nil {
			*l = []string{}
		}
	}
	c.State = &got
	return c, nil
}

func sameState(want, got vecState) error {
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	norm := func(s vecState) vecState {
		if s.Members == nil {
			s.Members = []string{}
		}
		if s.Admins == nil {
			s.Admins = []string{}
		}
		if s.Applied == nil {
			s.Applied = []string{}
		}
		if s.Pending == nil {
			s.Pending = []string{}
		}
		return s
	}
	w, g := norm(cloneState(want)), norm(cloneState(got))
	if j(w) != j(g) {
		return fmt.Errorf("hand-written expectation differs from the implementation:\nwant %s\n got %s", j(w), j(g))
	}
	return nil
}

func cloneState(s vecState) vecState {
	s.Applied = append([]string(nil), s.Applied...)
	s.Pending = append([]string(nil), s.Pending...)
	return s
}
