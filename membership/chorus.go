package membership

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/big"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/crypto/secp256k1"
)

// OrderLabel prefixes the order hash of the Chorus total order.
const OrderLabel = "chorus/v1/membership/order"

// ChorusRules returns the Chorus rule set, the default for Chorus groups.
//
// Common to both versions: events are verified (bad signatures and other chat ids are
// discarded), de-duplicated by (author, chat id, payload) — a re-encoded or malleated
// signature is not a new event — and the genesis is the first CHAT_CREATED by the key the
// chat id names in (clock, order hash) order, where order hash H = SHA-256(OrderLabel ||
// 0x00 || author key string || Keccak256(chat id || payload)); H is also the event id
// (Event.ID). The state is a function of the set of events.
//
// A genesis with version RulesCausal makes the group causal (causal.go): events name their
// parents and are judged against the state of their causal past; see spec/README.md,
// membership › Chorus causal rules. Otherwise the v1 rules apply: only admins change the
// group, as spec 55 says (a member may leave, an admin may drop its own admin right, admins
// cannot remove admins), events are applied in (clock, H) order and each invalid event is
// kept as pending (State.Pending), so that a later event set can make it valid.
func ChorusRules() Rules { return chorusRules{} }

type chorusRules struct{}

func (chorusRules) Name() string      { return "chorus" }
func (chorusRules) strictParse() bool { return false }

// errNoGenesis: no CHAT_CREATED by the key the chat id names.
var errNoGenesis = errors.New("no valid CHAT_CREATED for this chat id")

// chorusEntry is a verified, de-duplicated event with its sort key.
type chorusEntry struct {
	ev    Event
	order [32]byte
	bad   bool // malformed causal fields
}

func (chorusRules) derive(chatID string, events []Event) (State, error) {
	var v verifier
	type content struct {
		from   string
		digest [32]byte
	}
	byContent := make(map[content]int, len(events))
	entries := make([]chorusEntry, 0, len(events))
	for i := range events {
		ev := events[i]
		if ev.ChatID != "" && ev.ChatID != chatID {
			continue
		}
		from, digest, bad, err := v.authorFields(chatID, &ev)
		if err != nil || (ev.From != "" && ev.From != from) {
			continue
		}
		ev.From, ev.ChatID = from, chatID
		key := content{from, digest}
		if j, ok := byContent[key]; ok {
			// The same statement twice (e.g. a malleated signature): keep the smallest entry.
			if bytes.Compare(ev.Signature, entries[j].ev.Signature) < 0 {
				entries[j].ev = ev
			}
			continue
		}
		byContent[key] = len(entries)
		entries = append(entries, chorusEntry{ev: ev, order: orderHash(from, digest), bad: bad})
	}
	slices.SortFunc(entries, func(a, b chorusEntry) int {
		switch {
		case a.ev.Clock < b.ev.Clock:
			return -1
		case a.ev.Clock > b.ev.Clock:
			return 1
		}
		return bytes.Compare(a.order[:], b.order[:])
	})

	genesis := -1
	for i := range entries {
		if entries[i].ev.Type == ChatCreated && chorusChatIDOf(chatID, entries[i].ev.From) {
			genesis = i
			break
		}
	}
	if genesis < 0 {
		return State{}, reject(StageNoGenesis, nil, errNoGenesis)
	}
	if g := &entries[genesis]; !g.bad && g.ev.Version == RulesCausal && len(g.ev.Parents) == 0 {
		return deriveCausal(chatID, entries, genesis), nil
	}
	g := entries[genesis].ev
	s := State{
		ChatID:      chatID,
		Creator:     g.From,
		Name:        g.Name,
		Color:       g.Color,
		Description: g.Description,
		Image:       g.Image,
		LastClock:   g.Clock,
		Events:      append(make([]Event, 0, len(entries)), g),
	}
	members, admins := newOrderedSet(), newOrderedSet()
	var keys keyChecker
	members.add(g.from)
	admins.add(g.from)
	for i := range entries {
		if i == genesis {
			continue
		}
		ev := &entries[i].ev
		if ev.Type == MemberJoined {
			continue // changes nothing: neither applied nor kept (any member could grow the log)
		}
		if ev.Clock < g.Clock || !chorusApply(&s, members, admins, &keys, ev) {
			s.Pending = append(s.Pending, *ev)
			continue
		}
		s.Events = append(s.Events, *ev)
		s.LastClock = ev.Clock
	}
	s.Members = membersOwn(members.list())
	s.Admins = hexesOf(admins.items)
	return s, nil
}

// orderHash is the tie-break of the Chorus total order:
// SHA-256(OrderLabel || 0x00 || author key string || digest).
func orderHash(from string, digest [32]byte) [32]byte {
	var buf [len(OrderLabel) + 1 + PublicKeyStringLength + 32]byte
	if len(from) != PublicKeyStringLength { // never for recovered authors
		return sha256.Sum256(append(append(append([]byte(OrderLabel), 0), from...), digest[:]...))
	}
	n := copy(buf[:], OrderLabel)
	buf[n] = 0
	n++
	n += copy(buf[n:], from)
	copy(buf[n:], digest[:])
	return sha256.Sum256(buf[:])
}

// chorusChatIDOf reports whether chatID is "<uuid>-<creator>" (canonical lowercase UUID).
func chorusChatIDOf(chatID, creator string) bool {
	prefix, ok := strings.CutSuffix(chatID, "-"+creator)
	return ok && isUUID(prefix)
}

// chorusApply validates ev against the current state and applies it; it reports whether
// the event was valid.
func chorusApply(s *State, members, admins *orderedSet, keys *keyChecker, ev *Event) bool {
	isAdmin := admins.has(ev.from)
	switch ev.Type {
	case NameChanged:
		if !isAdmin || ev.Name == "" {
			return false
		}
		s.Name = ev.Name
	case ColorChanged:
		if !isAdmin || ev.Color == "" {
			return false
		}
		s.Color = ev.Color
	case ImageChanged:
		if !isAdmin {
			return false
		}
		s.Image = ev.Image
	case DescriptionChanged:
		if !isAdmin || !utf8.ValidString(ev.Description) {
			return false
		}
		s.Description = ev.Description
	case MembersAdded:
		if !isAdmin || ev.Members.Len() == 0 {
			return false
		}
		for _, m := range ev.Members.each() {
			if !keys.canonical(m) {
				return false
			}
		}
		members.add(ev.Members.keyList()...)
	case MemberRemoved:
		if ev.Members.Len() != 1 {
			return false
		}
		t := ev.Members.Key(0)
		if !members.has(t) || (t != ev.from && (!isAdmin || admins.has(t))) {
			return false
		}
		members.remove(t)
		admins.remove(t)
	case AdminsAdded:
		if !isAdmin || ev.Members.Len() == 0 {
			return false
		}
		for _, m := range ev.Members.each() {
			if !members.has(m) {
				return false
			}
		}
		admins.add(ev.Members.keyList()...)
	case AdminRemoved:
		if ev.Members.Len() != 1 || ev.Members.Key(0) != ev.from || !isAdmin {
			return false
		}
		admins.remove(ev.from)
	default: // a second CHAT_CREATED, UNKNOWN, unknown types
		return false
	}
	return true
}

// keyChecker checks member key strings without allocating per check.
type keyChecker struct {
	raw        [65]byte
	x, y, l, r big.Int
}

// canonical reports whether internal id s (members.go) is exactly PublicKeyString of a
// valid key: "0x04" and 128 lowercase hex digits naming a point on the curve (x, y < p and
// y² = x³ + 7 mod p).
func (k *keyChecker) canonical(s string) bool {
	if !isKeyID(s) {
		return false
	}
	copy(k.raw[:], s)
	p := secp256k1.S256().Params().P
	k.x.SetBytes(k.raw[1:33])
	k.y.SetBytes(k.raw[33:])
	if k.x.Cmp(p) >= 0 || k.y.Cmp(p) >= 0 {
		return false
	}
	k.l.Mul(&k.y, &k.y)
	k.l.Mod(&k.l, p)
	k.r.Mul(&k.x, &k.x)
	k.r.Mul(&k.r, &k.x)
	k.r.Add(&k.r, seven)
	k.r.Mod(&k.r, p)
	return k.l.Cmp(&k.r) == 0
}

var seven = big.NewInt(7)

func (r chorusRules) update(stored *State, m *Message, _ []*RejectError, self string, nowMs uint64) (State, error) {
	incoming := make([]Event, 0, len(m.Events))
	for _, ev := range m.Events {
		if ev.Clock == 0 || (ev.Clock > nowMs && ev.Clock-nowMs > MaxClockDriftMs) {
			continue
		}
		incoming = append(incoming, ev)
	}
	if stored == nil {
		s, err := r.derive(m.ChatID, incoming)
		if err != nil {
			return State{}, err
		}
		if !s.WasEverMember(self) {
			return State{}, reject(StageNewChat, nil, errNeverMember)
		}
		return s, nil
	}
	if stored.ChatID != m.ChatID {
		return State{}, reject(StageChatIDMismatch, nil, errStoredChatMissing)
	}
	return Extend(stored, incoming)
}
