package wire

import (
	"bytes"
	"testing"
)

func samples() map[string][]byte {
	out := map[string][]byte{}
	must := func(b []byte, err error) []byte {
		if err != nil {
			panic(err)
		}
		return b
	}
	f := &InboxFrame{Kind: KindSession, Hint: [16]byte{1, 2, 3}, Body: []byte("ratchet message")}
	out["inbox"] = f.Marshal()
	out["initial"] = must((&InitialPayload{Header: []byte{1, 2}, Message: []byte{3, 4, 5}}).Marshal())
	out["pairwise"] = must((&PairwiseMessage{DeviceList: []byte("device list"), Type: PairwiseWelcome, Body: []byte("w")}).Marshal())
	out["welcome"] = must((&Welcome{GroupID: [32]byte{9}, ChatID: "abc-0x04", Secret: [32]byte{7}, Buckets: 3, SentAt: 42,
		Membership: []byte("m"), DeviceLists: [][]byte{[]byte("c1"), {}}, Distributions: [][]byte{[]byte("d")}}).Marshal())
	pub := PublicDistribution{Group: bytes.Repeat([]byte{1}, 32), Installation: [16]byte{2}, KeyID: [8]byte{3}, HasPrev: true, PrevLastIteration: 9}
	out["frame"] = must((&GroupFrame{Rotation: &RotationBlock{Public: pub, Part: 1, Parts: 2, Slots: []Slot{
		{Hint: [16]byte{1}, Kind: SlotSession, Message: []byte("dr")},
		{Hint: [16]byte{2}, Kind: SlotInitial, Header: []byte("x3dh"), Message: []byte("dr2")},
	}}, Message: []byte("sk")}).Marshal())
	out["frame-msg"] = must((&GroupFrame{Message: []byte("sk")}).Marshal())
	out["plaintext"] = must((&GroupPlaintext{Clock: 1, Timestamp: 2, Type: ContentText, Body: []byte("hi"),
		History: [][HistoryEntrySize]byte{{1}, {2}}}).Marshal())
	out["reply"] = must((&Reply{Target: [32]byte{1}, Text: "re"}).Marshal())
	out["reaction"] = must((&Reaction{Target: [32]byte{1}, Emoji: "👍"}).Marshal())
	out["membership"] = must((&Membership{Update: []byte("u"), DeviceLists: [][]byte{[]byte("c")}}).Marshal())
	out["frame2"] = must((&FrameV2{Block: []byte("key block"), Message: []byte("v2 message")}).Marshal())
	out["frame2-block"] = must((&FrameV2{Block: []byte("key block only")}).Marshal())
	out["plaintext2"] = must((&GroupPlaintextV2{Clock: 1, Timestamp: 2, Type: ContentText, Body: []byte("hi"),
		History: [][ShortEntrySize]byte{{1}, {2}}}).Marshal())
	out["welcome2"] = must((&WelcomeV2{GroupID: [32]byte{9}, ChatID: "abc-0x04", Secret: [32]byte{7}, Buckets: 3, SentAt: 42,
		Join: []byte("join"), Membership: []byte("m"), DeviceLists: [][]byte{[]byte("c1"), {}}}).Marshal())
	out["welcome2s"] = must((&WelcomeV2{GroupID: [32]byte{9}, ChatID: "abc-0x04", Secret: [32]byte{7}, Buckets: 3, SentAt: 42,
		Join: []byte("join"), Snapshot: []byte("snapshot"), DeviceLists: [][]byte{[]byte("c1")}}).Marshal())
	return out
}

type codec struct {
	seed  string
	round func([]byte) ([]byte, error) // decode then encode; error = rejected
}

var codecs = map[string]codec{
	"inbox": {"inbox", func(b []byte) ([]byte, error) {
		f, err := ParseInboxFrame(b)
		if err != nil {
			if f != nil {
				panic("non-nil on error")
			}
			return nil, err
		}
		return f.Marshal(), nil
	}},
	"initial":    {"initial", rt(ParseInitialPayload)},
	"pairwise":   {"pairwise", rt(ParsePairwiseMessage)},
	"welcome":    {"welcome", rt(ParseWelcome)},
	"frame":      {"frame", rt(ParseGroupFrame)},
	"frame2":     {"frame2", rt(ParseFrameV2)},
	"frame2b":    {"frame2-block", rt(ParseFrameV2)},
	"plaintext2": {"plaintext2", rt(ParseGroupPlaintextV2)},
	"welcome2":   {"welcome2", rt(ParseWelcomeV2)},
	"welcome2s":  {"welcome2s", rt(ParseWelcomeV2)},
	"plaintext":  {"plaintext", rt(ParseGroupPlaintext)},
	"reply":      {"reply", rt(ParseReply)},
	"reaction":   {"reaction", rt(ParseReaction)},
	"membership": {"membership", rt(ParseMembership)},
}

type marshaler interface{ Marshal() ([]byte, error) }

func rt[T marshaler](parse func([]byte) (T, error)) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		v, err := parse(b)
		if err != nil {
			var zero T
			if any(v) != any(zero) {
				panic("non-nil value with error")
			}
			return nil, err
		}
		return v.Marshal()
	}
}

func TestRoundTrip(t *testing.T) {
	s := samples()
	for name, c := range codecs {
		in := s[c.seed]
		out, err := c.round(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("%s: round trip differs\n in %x\nout %x", name, in, out)
		}
		// Every strict prefix and every one-byte extension must be rejected or be canonical.
		for i := 0; i < len(in); i++ {
			if out, err := c.round(in[:i]); err == nil && !bytes.Equal(out, in[:i]) {
				t.Fatalf("%s: prefix %d decoded non-canonically", name, i)
			}
		}
		if _, err := c.round(append(bytes.Clone(in), 0)); err == nil && name != "inbox" {
			t.Fatalf("%s: trailing byte accepted", name)
		}
	}
	if s["frame-msg"] == nil {
		t.Fatal("missing sample")
	}
}

func TestRejects(t *testing.T) {
	if _, err := ParseInboxFrame(append([]byte{Version, byte(KindInitial)}, append(bytes.Repeat([]byte{1}, 16), 1)...)); err == nil {
		t.Fatal("initial frame with non-zero hint accepted")
	}
	if _, err := ParseGroupFrame([]byte{Version, 0}); err == nil {
		t.Fatal("empty frame accepted")
	}
	if _, err := ParseGroupFrame([]byte{Version, 4}); err == nil {
		t.Fatal("unknown flag accepted")
	}
	if _, err := (&GroupFrame{}).Marshal(); err == nil {
		t.Fatal("empty frame encoded")
	}
	if _, err := ParseText([]byte{0xff}); err == nil {
		t.Fatal("invalid utf-8 accepted")
	}
}

func fuzzCodec(f *testing.F, name string) {
	c := codecs[name]
	f.Add(samples()[c.seed])
	f.Add([]byte{})
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := c.round(in)
		if err != nil {
			return
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("%s: decode→encode differs\n in %x\nout %x", name, in, out)
		}
	})
}

func FuzzInboxFrame(f *testing.F)     { fuzzCodec(f, "inbox") }
func FuzzInitialPayload(f *testing.F) { fuzzCodec(f, "initial") }
func FuzzPairwise(f *testing.F)       { fuzzCodec(f, "pairwise") }
func FuzzWelcome(f *testing.F)        { fuzzCodec(f, "welcome") }
func FuzzGroupFrame(f *testing.F)     { fuzzCodec(f, "frame") }
func FuzzFrameV2(f *testing.F)        { fuzzCodec(f, "frame2") }
func FuzzWelcomeV2(f *testing.F)      { fuzzCodec(f, "welcome2") }

// FuzzWelcomeV2Snapshot starts from a snapshot add Welcome (first byte WelcomeSnapshot).
func FuzzWelcomeV2Snapshot(f *testing.F) { fuzzCodec(f, "welcome2s") }
func FuzzGroupPlaintext(f *testing.F)    { fuzzCodec(f, "plaintext") }
func FuzzFrameV2Block(f *testing.F)      { fuzzCodec(f, "frame2b") }
func FuzzGroupPlaintextV2(f *testing.F) {
	fuzzCodec(f, "plaintext2")
}
func FuzzReply(f *testing.F)      { fuzzCodec(f, "reply") }
func FuzzReaction(f *testing.F)   { fuzzCodec(f, "reaction") }
func FuzzMembership(f *testing.F) { fuzzCodec(f, "membership") }

// TestWelcomeV2Snapshot: a snapshot add Welcome starts with WelcomeSnapshot (a decoder of
// Version2 only refuses it), round-trips, and needs a join and a non-empty snapshot; a
// Welcome with both a log and a snapshot does not encode.
func TestWelcomeV2Snapshot(t *testing.T) {
	w := &WelcomeV2{ChatID: "c", Join: []byte("j"), Snapshot: []byte("s")}
	b, err := w.Marshal()
	if err != nil || b[0] != WelcomeSnapshot {
		t.Fatalf("encode: %v %x", err, b)
	}
	got, err := ParseWelcomeV2(b)
	if err != nil || !bytes.Equal(got.Snapshot, w.Snapshot) || got.Membership != nil {
		t.Fatalf("decode: %v %+v", err, got)
	}
	log := bytes.Clone(b)
	log[0] = Version2 // the same bytes as a log Welcome: the snapshot read as a log
	if got, err := ParseWelcomeV2(log); err != nil || got.Snapshot != nil || !bytes.Equal(got.Membership, w.Snapshot) {
		t.Fatalf("as a log Welcome: %v", err)
	}
	for _, bad := range []*WelcomeV2{{ChatID: "c", Snapshot: []byte("s")}, {ChatID: "c", Join: []byte("j"), Snapshot: []byte{}},
		{ChatID: "c", Join: []byte("j"), Membership: []byte("m"), Snapshot: []byte("s")}} {
		if _, err := bad.Marshal(); err == nil {
			t.Errorf("encoded %+v", bad)
		}
	}
	empty, _ := (&WelcomeV2{ChatID: "c"}).Marshal()
	empty[0] = WelcomeSnapshot // no join, no snapshot
	if _, err := ParseWelcomeV2(empty); err == nil {
		t.Error("a snapshot Welcome without join or snapshot decoded")
	}
}
