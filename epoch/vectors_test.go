package epoch

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/chorus-im/chorus/spec"
	"github.com/ethereum/go-ethereum/crypto"
)

type vectorEvent struct {
	ID   string   `json:"id"`
	Prev []string `json:"prev"`
	Seed string   `json:"seed"`
}

type vectorContribution struct {
	ID       string   `json:"id"`
	Frontier []string `json:"frontier"`
	X        string   `json:"x"`
}

type vectorKeys struct {
	Key   string `json:"key"`
	Nonce string `json:"nonce"`
}

type vectorChain struct {
	Installation string       `json:"installation"`
	SenderChain  string       `json:"sender_chain"`
	MessageKeys  []vectorKeys `json:"message_keys"`
}

type vectorGap struct {
	From uint32 `json:"from"`
	To   uint32 `json:"to"`
}

type vectorCase struct {
	Name   string `json:"name"`
	Op     string `json:"op"`
	Expect string `json:"expect"`

	Group         string               `json:"group"`
	Events        []vectorEvent        `json:"events"`
	Contributions []vectorContribution `json:"contributions"`
	Frontier      []string             `json:"frontier"`
	EpochID       string               `json:"epoch_id"`
	EpochSecret   string               `json:"epoch_secret"`
	OuterKey      string               `json:"outer_key"`
	Chains        []vectorChain        `json:"chains"`

	Seed         string   `json:"seed"`
	Event        string   `json:"event"`
	X            string   `json:"x"`
	Installation string   `json:"installation"`
	Author       string   `json:"author"`
	Kind         int      `json:"kind"`
	Nonce        string   `json:"nonce"`
	Prev         []string `json:"prev"`
	Heads        []string `json:"heads"`
	Output       string   `json:"output"`
	Confirmation string   `json:"confirmation"`

	SigningPrivateKey string      `json:"signing_private_key"`
	SigningKey        string      `json:"signing_key"`
	Plaintext         *string     `json:"plaintext"`
	Setup             []string    `json:"setup"`
	Message           string      `json:"message"`
	Gaps              []vectorGap `json:"gaps"`

	Encoding string `json:"encoding"`
	Topic    string `json:"topic"`
	Payload  string `json:"payload"`
	Frame    string `json:"frame"`
}

var expectErrors = map[string]error{
	"success":             nil,
	"malformed":           ErrMalformed,
	"unsupported_version": ErrUnsupportedVersion,
	"duplicate":           ErrDuplicate,
	"frontier_full":       ErrFrontierFull,
	"too_many_events":     ErrTooManyEvents,
	"superseded":          ErrSuperseded,
	"incomplete":          ErrIncomplete,
	"mismatch":            ErrMismatch,
	"decrypt_failed":      ErrDecrypt,
	"bad_signature":       ErrBadSignature,
	"replay":              ErrReplay,
	"too_far_ahead":       ErrTooFarAhead,
}

func loadVectors(t testing.TB) []vectorCase {
	t.Helper()
	raw, err := spec.Vectors.ReadFile("vectors/epoch.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Description string       `json:"description"`
		Cases       []vectorCase `json:"cases"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no epoch vectors loaded")
	}
	return f.Cases
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexID(t testing.TB, s string) ID {
	t.Helper()
	b := unhex(t, s)
	if len(b) != IDSize {
		t.Fatalf("id of %d bytes", len(b))
	}
	return ID(b)
}

func hexIDs(t testing.TB, ss []string) Frontier {
	t.Helper()
	var f Frontier
	for _, s := range ss {
		f = append(f, hexID(t, s))
	}
	return f
}

func hexInst(t testing.TB, s string) Installation {
	t.Helper()
	b := unhex(t, s)
	if len(b) != InstallationSize {
		t.Fatalf("installation of %d bytes", len(b))
	}
	return Installation(b)
}

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil && err != nil {
		t.Fatalf("unexpected error %v", err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// runEpochCase follows the `epoch` procedure of the specification for the events in the
// given order; it returns the first error and the epoch.
func runEpochCase(t *testing.T, c vectorCase, order []int) (*Schedule, Epoch, error) {
	s := NewSchedule(hexID(t, c.Group))
	for _, i := range order {
		e := c.Events[i]
		id := hexID(t, e.ID)
		if err := s.Apply(Event{ID: id, Prev: hexIDs(t, e.Prev)}); err != nil {
			return s, Epoch{}, err
		}
		if e.Seed != "" {
			seed := Seed(hexID(t, e.Seed))
			if err := s.SetSeed(id, &seed); err != nil && !errors.Is(err, ErrSuperseded) {
				return s, Epoch{}, err
			}
		}
	}
	for _, cb := range c.Contributions {
		x := hexID(t, cb.X)
		if err := s.SetContribution(hexID(t, cb.ID), hexIDs(t, cb.Frontier), &x); err != nil {
			return s, Epoch{}, err
		}
	}
	ep, err := s.Current()
	return s, ep, err
}

// permutations calls fn with every permutation of 0..n-1 (Heap's algorithm).
func permutations(n int, fn func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var gen func(k int)
	gen = func(k int) {
		if k <= 1 {
			fn(append([]int(nil), p...))
			return
		}
		for i := 0; i < k; i++ {
			gen(k - 1)
			if k%2 == 0 {
				p[i], p[k-1] = p[k-1], p[i]
			} else {
				p[0], p[k-1] = p[k-1], p[0]
			}
		}
	}
	gen(n)
}

func vectorEpoch(t *testing.T, c vectorCase, want error) {
	order := make([]int, len(c.Events))
	for i := range order {
		order[i] = i
	}
	s, ep, err := runEpochCase(t, c, order)
	checkErr(t, err, want)
	if want != nil {
		return
	}
	if !s.Frontier().Equal(hexIDs(t, c.Frontier)) {
		t.Fatal("frontier differs")
	}
	if ep.ID != hexID(t, c.EpochID) || ep.Secret != [32]byte(hexID(t, c.EpochSecret)) {
		t.Fatal("epoch id or secret differs")
	}
	if k := ep.OuterKey(); k != [32]byte(hexID(t, c.OuterKey)) {
		t.Fatal("outer key differs")
	}
	for _, ch := range c.Chains {
		ck := ep.SenderChain(hexInst(t, ch.Installation))
		if ck != [32]byte(hexID(t, ch.SenderChain)) {
			t.Fatalf("sender chain of %s differs", ch.Installation)
		}
		for j, mkv := range ch.MessageKeys {
			mk, next := ChainStep(&ck)
			key, nonce := MessageKeys(&mk)
			if !bytes.Equal(key[:], unhex(t, mkv.Key)) || !bytes.Equal(nonce[:], unhex(t, mkv.Nonce)) {
				t.Fatalf("message keys of iteration %d differ", j)
			}
			ck = next
		}
	}
	// Order independence: every arrival order of the events gives the same epoch (seeds of
	// events superseded on arrival are not needed).
	if len(c.Events) <= 7 {
		permutations(len(c.Events), func(p []int) {
			_, e2, err := runEpochCase(t, c, p)
			if err != nil || e2 != ep {
				t.Fatalf("order %v: %v, epoch differs: %v", p, err, e2 != ep)
			}
		})
	}
}

func TestVectors(t *testing.T) {
	cases := loadVectors(t)
	ops := map[string]int{}
	for _, c := range cases {
		ops[c.Op]++
		t.Run(c.Name, func(t *testing.T) {
			want, ok := expectErrors[c.Expect]
			if !ok {
				t.Fatalf("unknown expect class %q", c.Expect)
			}
			switch c.Op {
			case "epoch":
				vectorEpoch(t, c, want)
			case "contribution":
				seed := Seed(hexID(t, c.Seed))
				f := hexIDs(t, c.Frontier)
				x, err := Contribution(hexID(t, c.Group), &seed, hexID(t, c.Event), f)
				checkErr(t, err, want)
				if x != hexID(t, c.X) {
					t.Fatal("contribution differs")
				}
				if eid, _ := EpochID(hexID(t, c.Group), f); eid != hexID(t, c.EpochID) {
					t.Fatal("epoch id differs")
				}
			case "slot_hint":
				hint := SlotHint(hexID(t, c.Event), hexInst(t, c.Installation))
				hr := NewHinter(hexID(t, c.Event))
				if !bytes.Equal(hint[:], unhex(t, c.Output)) || hr.Hint(hexInst(t, c.Installation)) != hint {
					t.Fatal("slot hint differs")
				}
			case "slot_hint_legacy":
				hint := LegacySlotHint(hexID(t, c.Event), hexInst(t, c.Installation))
				lh := LegacyHinter(hexID(t, c.Event))
				if !bytes.Equal(hint[:], unhex(t, c.Output)) || lh.Hint(hexInst(t, c.Installation)) != hint {
					t.Fatal("version 2 slot hint differs")
				}
			case "key_block_digest":
				d, _, err := KeyBlockDigest(hexID(t, c.Group), unhex(t, c.Encoding))
				if err != nil || !bytes.Equal(d[:], unhex(t, c.Output)) {
					t.Fatalf("key block digest differs (%v)", err)
				}
			case "rekey_id":
				id := RekeyID(hexID(t, c.Group), hexInst(t, c.Author), [NonceSize]byte(unhex(t, c.Nonce)), hexIDs(t, c.Prev))
				if id != hexID(t, c.Output) {
					t.Fatal("rekey id differs")
				}
			case "rekey_heads_id":
				id := RekeyHeadsID(hexID(t, c.Group), hexInst(t, c.Author), [NonceSize]byte(unhex(t, c.Nonce)), hexIDs(t, c.Prev), hexIDs(t, c.Heads))
				if id != hexID(t, c.Output) {
					t.Fatal("rekey heads id differs")
				}
			case "member_prev_digest":
				d := MemberPrevDigest(hexIDs(t, c.Prev))
				if !bytes.Equal(d[:], unhex(t, c.Output)) || CheckMemberPrev(hexIDs(t, c.Prev), d[:]) != nil {
					t.Fatal("member prev digest differs")
				}
			case "rekey_id_legacy":
				id := LegacyRekeyID(hexID(t, c.Group), hexInst(t, c.Author), [NonceSize]byte(unhex(t, c.Nonce)))
				if id != hexID(t, c.Output) {
					t.Fatal("legacy rekey id differs")
				}
			case "confirmation":
				seed := Seed(hexID(t, c.Seed))
				group, event := hexID(t, c.Group), hexID(t, c.Event)
				if conf := Confirmation(group, event, &seed); conf != [IDSize]byte(hexID(t, c.Output)) {
					t.Fatal("confirmation differs")
				}
				b := KeyBlock{Event: event, Confirmation: [IDSize]byte(hexID(t, c.Output))}
				other := seed
				other[0] ^= 1
				if !b.Confirms(group, &seed) || b.Confirms(group, &other) {
					t.Fatal("Confirms disagrees with the confirmation")
				}
			case "slot_context":
				b := KeyBlock{Kind: byte(c.Kind), Author: hexInst(t, c.Author), Event: hexID(t, c.Event),
					Prev: hexIDs(t, c.Prev), Confirmation: [IDSize]byte(hexID(t, c.Confirmation))}
				if ctx := b.Context(hexID(t, c.Group)); ctx != [32]byte(hexID(t, c.Output)) {
					t.Fatal("slot context differs")
				}
			case "slot_plaintext":
				enc := unhex(t, c.Encoding)
				p, err := ParseSlotPlaintext(enc)
				checkErr(t, err, want)
				if want == nil {
					again, err := p.MarshalBinary()
					if err != nil || !bytes.Equal(again, enc) {
						t.Fatalf("re-encoding differs (%v)", err)
					}
				}
			case "key_block":
				enc := unhex(t, c.Encoding)
				b, err := ParseKeyBlock(hexID(t, c.Group), enc)
				checkErr(t, err, want)
				if want == nil {
					again, err := b.MarshalBinary()
					if err != nil || !bytes.Equal(again, enc) {
						t.Fatalf("re-encoding differs (%v)", err)
					}
				}
			case "state":
				enc := unhex(t, c.Encoding)
				s := NewSchedule(ID{})
				before, _ := s.MarshalBinary()
				err := s.UnmarshalBinary(enc)
				checkErr(t, err, want)
				after, _ := s.MarshalBinary()
				if want == nil && !bytes.Equal(after, enc) {
					t.Fatal("re-encoding differs")
				}
				if want != nil && !bytes.Equal(after, before) {
					t.Fatal("a failed decode changed the schedule")
				}
			case "join":
				j, err := ParseJoin(hexID(t, c.Group), unhex(t, c.Encoding))
				checkErr(t, err, want)
				if want != nil {
					return
				}
				again, err := j.MarshalBinary()
				if err != nil || !bytes.Equal(again, unhex(t, c.Encoding)) {
					t.Fatal("re-encoding differs")
				}
				s, err := NewScheduleFromJoin(hexID(t, c.Group), j)
				if err != nil {
					t.Fatal(err)
				}
				ep, err := s.Current()
				if err != nil || ep.ID != hexID(t, c.EpochID) || ep.Secret != [32]byte(hexID(t, c.EpochSecret)) {
					t.Fatalf("newcomer epoch differs (%v)", err)
				}
			case "outer":
				k := [32]byte(hexID(t, c.OuterKey))
				frame, err := OpenWithKey(&k, c.Topic, unhex(t, c.Payload))
				checkErr(t, err, want)
				if want == nil && !bytes.Equal(frame, unhex(t, c.Frame)) {
					t.Fatal("frame differs")
				}
			case "seal":
				ep := Epoch{ID: hexID(t, c.EpochID), Secret: [32]byte(hexID(t, c.EpochSecret))}
				key, err := crypto.ToECDSA(unhex(t, c.SigningPrivateKey))
				if err != nil {
					t.Fatal(err)
				}
				// Seal the case's iteration: advance a fresh chain through the earlier ones.
				s := NewSenderChain(&ep, hexInst(t, c.Installation))
				var it uint32
				fmt.Sscanf(c.Name, "seal_iteration_%d", &it)
				for range it {
					if _, err := s.Seal(key, nil); err != nil {
						t.Fatal(err)
					}
				}
				m, err := s.Seal(key, []byte(*c.Plaintext))
				if err != nil || !bytes.Equal(m, unhex(t, c.Message)) {
					t.Fatalf("sealed message differs (%v)", err)
				}
			case "open":
				ep := Epoch{ID: hexID(t, c.EpochID), Secret: [32]byte(hexID(t, c.EpochSecret))}
				r := NewReceiverChain(&ep, hexInst(t, c.Installation))
				pub := unhex(t, c.SigningKey)
				for _, m := range c.Setup {
					if _, err := r.Open(pub, unhex(t, m)); err != nil {
						t.Fatal(err)
					}
				}
				before, _ := r.MarshalBinary()
				pt, err := r.Open(pub, unhex(t, c.Message))
				checkErr(t, err, want)
				if want != nil {
					if after, _ := r.MarshalBinary(); !bytes.Equal(before, after) {
						t.Fatal("a failed open changed the chain")
					}
					return
				}
				if string(pt) != *c.Plaintext {
					t.Fatal("plaintext differs")
				}
				gaps := r.Gaps()
				if len(gaps) != len(c.Gaps) {
					t.Fatalf("gaps %v, want %v", gaps, c.Gaps)
				}
				for i, g := range gaps {
					if g.From != c.Gaps[i].From || g.To != c.Gaps[i].To {
						t.Fatalf("gaps %v, want %v", gaps, c.Gaps)
					}
				}
			default:
				t.Fatalf("unknown op %q", c.Op)
			}
		})
	}
	for _, op := range []string{"epoch", "contribution", "slot_hint", "slot_hint_legacy", "key_block_digest", "rekey_id", "rekey_heads_id", "member_prev_digest", "slot_context",
		"confirmation", "slot_plaintext", "key_block", "state", "outer", "seal", "open", "join"} {
		if ops[op] == 0 {
			t.Errorf("no vector for op %s", op)
		}
	}
}
