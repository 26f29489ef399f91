package senderkeys

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// skipAhead advances a sender by n iterations without sealing (a test shortcut for
// "n messages were sealed and lost").
func skipAhead(s *Sender, n uint32) {
	k := newKDF()
	for range n {
		k.step(&s.chain, nil)
	}
	s.iteration += n
}

func TestSealOpenRoundTrip(t *testing.T) {
	o := newOwner(t, "roundtrip")
	s := o.sender(t)
	r := o.receiver()
	process(t, r, o.dist(t, s))
	for i, size := range []int{0, 1, 100, 1024, 16 << 10} {
		pt := bytes.Repeat([]byte{byte(i)}, size)
		msg, err := s.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg) != size+Overhead {
			t.Fatalf("message of %d bytes for %d plaintext bytes", len(msg), size)
		}
		h, err := ParseHeader(msg)
		if err != nil || h.Version != Version || h.KeyID != s.KeyID() || h.Iteration != uint32(i) {
			t.Fatalf("header %+v, %v", h, err)
		}
		got, err := r.Open(msg)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open(%d) = %v", i, err)
		}
	}
	if s.Iteration() != 5 {
		t.Fatalf("Iteration = %d", s.Iteration())
	}
	if gaps := r.Gaps(); len(gaps) != 0 {
		t.Fatalf("gaps %v", gaps)
	}
}

func TestSealIsDeterministicAndFresh(t *testing.T) {
	o := newOwner(t, "fresh")
	s := o.sender(t)
	state := marshal(t, s)
	m1 := seal(t, s, "x")
	m2 := seal(t, s, "x")
	if bytes.Equal(m1[HeaderSize:], m2[HeaderSize:]) {
		t.Fatal("two iterations produced the same ciphertext")
	}
	var again Sender
	if err := again.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	if m := seal(t, &again, "x"); !bytes.Equal(m, m1) {
		t.Fatal("Seal is not a function of the state")
	}
}

func TestTamperedMessages(t *testing.T) {
	o := newOwner(t, "tamper")
	s := o.sender(t)
	r := o.receiver()
	process(t, r, o.dist(t, s))
	msg := seal(t, s, "tamper with me, 100 bytes or so of plaintext to cover a few blocks....")
	for bit := 0; bit < len(msg)*8; bit++ {
		m := bytes.Clone(msg)
		m[bit/8] ^= 1 << (bit % 8)
		var want error
		switch {
		case bit/8 == 0:
			want = ErrUnsupportedVersion
		case bit/8 < 9:
			want = ErrUnknownKey
		default:
			want = ErrBadSignature // iteration, ciphertext, tag and signature bits
		}
		openFails(t, r, m, want)
	}
	for n := range Overhead {
		openFails(t, r, msg[:n], ErrMalformed)
	}
	openFails(t, r, append(bytes.Clone(msg), 0), ErrBadSignature)
	mustOpen(t, r, msg, "tamper with me, 100 bytes or so of plaintext to cover a few blocks....")
}

func TestReplayAndLateDelivery(t *testing.T) {
	o := newOwner(t, "replay")
	s := o.sender(t)
	r := o.receiver()
	process(t, r, o.dist(t, s))
	var msgs [][]byte
	for i := range 6 {
		msgs = append(msgs, seal(t, s, fmt.Sprint(i)))
	}
	mustOpen(t, r, msgs[0], "0")
	openFails(t, r, msgs[0], ErrReplay)
	mustOpen(t, r, msgs[4], "4")
	if got, want := r.Gaps(), []Gap{{s.KeyID(), 1, 4}}; !equalGaps(got, want) {
		t.Fatalf("gaps %v, want %v", got, want)
	}
	mustOpen(t, r, msgs[2], "2")
	openFails(t, r, msgs[2], ErrReplay)
	openFails(t, r, msgs[4], ErrReplay)
	if got, want := r.Gaps(), []Gap{{s.KeyID(), 1, 2}, {s.KeyID(), 3, 4}}; !equalGaps(got, want) {
		t.Fatalf("gaps %v, want %v", got, want)
	}
	mustOpen(t, r, msgs[1], "1")
	mustOpen(t, r, msgs[3], "3")
	mustOpen(t, r, msgs[5], "5")
	if gaps := r.Gaps(); len(gaps) != 0 {
		t.Fatalf("gaps %v", gaps)
	}
}

func TestForwardJumpBound(t *testing.T) {
	o := newOwner(t, "jump")
	s := o.sender(t)
	d := o.dist(t, s)
	skipAhead(s, MaxForwardJump)
	atBound := seal(t, s, "at bound")    // iteration MaxForwardJump: jump of exactly the bound
	beyond := seal(t, s, "beyond bound") // iteration MaxForwardJump+1

	r := o.receiver()
	process(t, r, d)
	openFails(t, r, beyond, ErrTooFarAhead)
	mustOpen(t, r, atBound, "at bound")
	// Only the newest MaxSkippedKeys keys of the jump are stored.
	e := r.epochs[0]
	if len(e.skipped) != MaxSkippedKeys || e.skipped[0].iteration != MaxForwardJump-MaxSkippedKeys {
		t.Fatalf("stored %d skipped keys from %d", len(e.skipped), e.skipped[0].iteration)
	}
	mustOpen(t, r, beyond, "beyond bound")
}

func TestSkippedKeyEviction(t *testing.T) {
	o := newOwner(t, "evict")
	s := o.sender(t)
	r := o.receiver()
	process(t, r, o.dist(t, s))
	m0 := seal(t, s, "0")
	m1 := seal(t, s, "1")
	skipAhead(s, 10) // iterations 2..11 lost
	m12 := seal(t, s, "12")
	mustOpen(t, r, m12, "12")       // stores 0..11: 12 keys
	skipAhead(s, MaxSkippedKeys-11) // iterations 13..2001 lost
	mLast := seal(t, s, "last")     // stores 1989 more: 2001 keys, so iteration 0 is evicted
	mustOpen(t, r, mLast, "last")
	if n := len(r.epochs[0].skipped); n != MaxSkippedKeys {
		t.Fatalf("%d skipped keys stored", n)
	}
	openFails(t, r, m0, ErrReplay)
	mustOpen(t, r, m1, "1")
	id := s.KeyID()
	if got, want := r.Gaps(), []Gap{{id, 2, 12}, {id, 13, s.Iteration() - 1}}; !equalGaps(got, want) {
		t.Fatalf("gaps %v, want %v", got, want)
	}
}

func TestUnknownKeyAndZeroValues(t *testing.T) {
	o := newOwner(t, "unknown")
	s := o.sender(t)
	r := o.receiver()
	openFails(t, r, seal(t, s, "x"), ErrUnknownKey)
	if r.Has(s.KeyID()) {
		t.Fatal("Has before Process")
	}
	var zs Sender
	if _, err := zs.Seal(nil); err == nil {
		t.Fatal("zero Sender sealed")
	}
	if _, err := zs.MarshalBinary(); err == nil {
		t.Fatal("zero Sender marshalled")
	}
	var zr Receiver
	if _, err := zr.Open(seal(t, s, "y")); !errorsIs(err, ErrUnknownKey) {
		t.Fatalf("zero Receiver Open: %v", err)
	}
	if _, err := zr.MarshalBinary(); err == nil {
		t.Fatal("zero Receiver marshalled")
	}
	if _, err := NewSender(o.rand, nil); !errorsIs(err, ErrMalformed) {
		t.Fatalf("NewSender with empty group: %v", err)
	}
}

func TestDecryptFailureLeavesState(t *testing.T) {
	o := newOwner(t, "decrypt")
	s := o.sender(t)
	d := o.dist(t, s)
	d.ChainKey[0] ^= 1 // the chain key is not signed: a forwarder can corrupt it
	r := o.receiver()
	process(t, r, d)
	m0 := seal(t, s, "0")
	m1 := seal(t, s, "1")
	openFails(t, r, m1, ErrDecrypt) // forward path
	// Skipped path: plant a wrong skipped key.
	r.epochs[0].skipped = []skippedKey{{iteration: 0}}
	r.epochs[0].next = 1
	openFails(t, r, m0, ErrDecrypt)
}

func TestSealExhausted(t *testing.T) {
	o := newOwner(t, "exhausted")
	s := o.sender(t)
	s.iteration = maxIteration - 1
	seal(t, s, "last")
	before := marshal(t, s)
	if _, err := s.Seal([]byte("one too many")); !errorsIs(err, ErrChainExhausted) {
		t.Fatalf("Seal: %v", err)
	}
	if !bytes.Equal(before, marshal(t, s)) {
		t.Fatal("state changed")
	}
	n := o.rotate(t, s)
	if n.prevLast != maxIteration || !n.hasPrev || n.prevKeyID != s.KeyID() {
		t.Fatal("rotation after exhaustion")
	}
}

func TestRotationGapsAndEpochs(t *testing.T) {
	o := newOwner(t, "rotate")
	s := o.sender(t)
	r := o.receiver()
	process(t, r, o.dist(t, s))
	first := s.KeyID()
	mustOpen(t, r, seal(t, s, "a0"), "a0")
	late := seal(t, s, "a1")
	seal(t, s, "a2") // lost
	s = o.rotate(t, s)
	process(t, r, o.dist(t, s))
	if got, want := r.Gaps(), []Gap{{first, 1, 3}}; !equalGaps(got, want) {
		t.Fatalf("gaps %v, want %v", got, want)
	}
	mustOpen(t, r, late, "a1") // sealed before the rotation, still opens
	if got, want := r.Gaps(), []Gap{{first, 2, 3}}; !equalGaps(got, want) {
		t.Fatalf("gaps %v, want %v", got, want)
	}
	// MaxEpochs rotations later the first epoch is retired.
	var keys []KeyID
	for range MaxEpochs - 1 {
		s = o.rotate(t, s)
		keys = append(keys, s.KeyID())
		process(t, r, o.dist(t, s))
	}
	if r.Has(first) || len(r.epochs) != MaxEpochs {
		t.Fatalf("first epoch still held: %v", r)
	}
	openFails(t, r, late, ErrUnknownKey)
	for _, id := range keys {
		if !r.Has(id) {
			t.Fatal("recent epoch missing")
		}
	}
	if len(r.retired) != 1 || r.retired[0] != first {
		t.Fatalf("retired %v", r.retired)
	}
}

func TestProcessOrderingAndStaleness(t *testing.T) {
	o := newOwner(t, "ordering")
	s := o.sender(t)
	var ds []*Distribution
	for range MaxEpochs + 2 {
		ds = append(ds, o.dist(t, s))
		s = o.rotate(t, s)
	}
	// Epochs 1..5 held; a late epoch 0 is older than every held one.
	r := o.receiver()
	for _, d := range ds[1 : MaxEpochs+1] {
		process(t, r, d)
	}
	processFails(t, r, ds[0], ErrStaleDistribution)
	// Epochs 2..5 held: the late epoch 1 goes before epoch 2, then epoch 6 retires it.
	r = o.receiver()
	for _, d := range ds[2 : MaxEpochs+1] {
		process(t, r, d)
	}
	process(t, r, ds[1])
	if r.epochs[0].keyID != ds[1].KeyID {
		t.Fatal("late epoch not placed before its successor")
	}
	process(t, r, ds[MaxEpochs+1])
	if r.Has(ds[1].KeyID) || !r.Has(ds[2].KeyID) || !r.Has(ds[MaxEpochs+1].KeyID) {
		t.Fatalf("wrong epoch retired: %v", r)
	}
	processFails(t, r, ds[1], ErrStaleDistribution) // retired: cannot come back

	// Any arrival order yields generation order.
	r = o.receiver()
	for _, i := range []int{3, 1, 4, 0, 2} {
		process(t, r, ds[i])
	}
	for i, e := range r.epochs {
		if e.keyID != ds[i].KeyID {
			t.Fatalf("epoch %d out of order", i)
		}
	}
}

func TestEpochCycleTerminates(t *testing.T) {
	a := &epoch{keyID: KeyID{1}, hasPrev: true, prevKeyID: KeyID{2}}
	b := &epoch{keyID: KeyID{2}, hasPrev: true, prevKeyID: KeyID{1}}
	if got := orderEpochs([]*epoch{a, b}); len(got) != 2 || got[0] != a {
		t.Fatal("cycle not broken in arrival order")
	}
}

func TestProcessIdempotentNeverBackwards(t *testing.T) {
	o := newOwner(t, "idempotent")
	s := o.sender(t)
	d0 := o.dist(t, s)
	var msgs [][]byte
	for i := range 5 {
		msgs = append(msgs, seal(t, s, fmt.Sprint(i)))
	}
	d5 := o.dist(t, s)

	r := o.receiver()
	process(t, r, d0)
	mustOpen(t, r, msgs[3], "3")
	before := marshal(t, r)
	for _, d := range []*Distribution{d0, d5} {
		process(t, r, d)
		if !bytes.Equal(before, marshal(t, r)) {
			t.Fatal("a distribution for a held key changed the state")
		}
	}
	openFails(t, r, msgs[3], ErrReplay)
	mustOpen(t, r, msgs[1], "1")
}

func TestProcessRejects(t *testing.T) {
	o := newOwner(t, "rejects")
	s := o.sender(t)
	d := o.dist(t, s)
	r := o.receiver()
	forged, forger := forgeKey(t)

	other := *d
	other.Group = []byte("another group")
	processFails(t, r, &other, ErrDistributionMismatch)
	other = *d
	other.Installation[0] ^= 1
	processFails(t, r, &other, ErrDistributionMismatch)

	// A forwarder substitutes the signing key: the owner's signature no longer verifies.
	other = *d
	other.SigningKey = forged
	processFails(t, r, &other, ErrBadSignature)
	// ... and cannot re-sign with its own key.
	resigned, err := (&Sender{group: s.group, keyID: s.keyID, signing: forger, public: forged}).Distribution(forger, o.id)
	if err != nil {
		t.Fatal(err)
	}
	processFails(t, r, resigned, ErrBadSignature)
	other = *d
	other.PrevLastIteration = 7
	processFails(t, r, &other, ErrMalformed) // non-canonical without HasPrev
	other.HasPrev, other.PrevKeyID = true, KeyID{1}
	processFails(t, r, &other, ErrBadSignature) // signed fields changed
	processFails(t, r, nil, ErrMalformed)

	// Owner-signed but invalid signing key point.
	bad := *s
	bad.public[1] ^= 0xff
	for {
		if _, err := uncompressedPublic(bad.public); err != nil {
			break
		}
		bad.public[2]++
	}
	badDist, err := bad.Distribution(o.key, o.id)
	if err != nil {
		t.Fatal(err)
	}
	processFails(t, r, badDist, ErrMalformed)

	// Owner signs a contradicting statement for a held key id.
	process(t, r, d)
	conflict := *s
	conflict.public = forged
	cd, err := conflict.Distribution(o.key, o.id)
	if err != nil {
		t.Fatal(err)
	}
	processFails(t, r, cd, ErrDistributionMismatch)
	tampered := *d
	tampered.Signature[5] ^= 1
	processFails(t, r, &tampered, ErrBadSignature)
}

func TestForward(t *testing.T) {
	o := newOwner(t, "forward")
	s := o.sender(t)
	d := o.dist(t, s)
	var msgs [][]byte
	for i := range 6 {
		msgs = append(msgs, seal(t, s, fmt.Sprint(i)))
	}
	inviter := o.receiver()
	process(t, inviter, d)
	mustOpen(t, inviter, msgs[0], "0")
	mustOpen(t, inviter, msgs[2], "2") // 1 skipped

	fw := inviter.Forward()
	if len(fw) != 1 || fw[0].Iteration != 3 || fw[0].Signature != d.Signature || fw[0].SigningKey != d.SigningKey {
		t.Fatalf("forward %v", fw)
	}
	wire := marshal(t, fw[0])
	parsed, err := ParseDistribution(wire)
	if err != nil {
		t.Fatal(err)
	}
	newcomer := o.receiver()
	process(t, newcomer, parsed)
	for _, i := range []int{0, 1, 2} { // never earlier, skipped keys not forwarded
		openFails(t, newcomer, msgs[i], ErrReplay)
	}
	mustOpen(t, newcomer, msgs[4], "4")
	mustOpen(t, newcomer, msgs[3], "3")
	mustOpen(t, inviter, msgs[1], "1") // the inviter keeps its own skipped key

	forgedKey, _ := forgeKey(t)
	substituted := *parsed
	substituted.SigningKey = forgedKey
	processFails(t, o.receiver(), &substituted, ErrBadSignature)
}

func TestForwardDoesNotResurrect(t *testing.T) {
	o := newOwner(t, "resurrect")
	s := o.sender(t)
	d := o.dist(t, s)
	var msgs [][]byte
	for i := range 6 {
		msgs = append(msgs, seal(t, s, fmt.Sprint(i)))
	}
	ahead, behind := o.receiver(), o.receiver()
	process(t, ahead, d)
	process(t, behind, d)
	for i := range 5 {
		mustOpen(t, ahead, msgs[i], fmt.Sprint(i))
	}
	mustOpen(t, behind, msgs[0], "0")
	mustOpen(t, behind, msgs[1], "1")

	// A lagging state forwarded to a receiver that is ahead changes nothing.
	before := marshal(t, ahead)
	for _, fd := range behind.Forward() {
		process(t, ahead, fd)
	}
	if !bytes.Equal(before, marshal(t, ahead)) {
		t.Fatal("lagging forward changed state")
	}
	openFails(t, ahead, msgs[2], ErrReplay)
	// A state that is ahead forwarded to a lagging receiver changes nothing either.
	before = marshal(t, behind)
	for _, fd := range ahead.Forward() {
		process(t, behind, fd)
	}
	if !bytes.Equal(before, marshal(t, behind)) {
		t.Fatal("forward of a newer state changed a held epoch")
	}
	mustOpen(t, behind, msgs[2], "2")
}

func TestStateRoundTrip(t *testing.T) {
	o := newOwner(t, "state")
	s := o.sender(t)
	r := o.receiver()
	process(t, r, o.dist(t, s))
	m := make([][]byte, 4)
	for i := range m {
		m[i] = seal(t, s, fmt.Sprint(i))
	}
	mustOpen(t, r, m[3], "3")
	s = o.rotate(t, s)
	process(t, r, o.dist(t, s))

	var s2 Sender
	if err := s2.UnmarshalBinary(marshal(t, s)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(marshal(t, &s2), marshal(t, s)) || s2.public != s.public {
		t.Fatal("sender state round trip")
	}
	var r2 Receiver
	if err := r2.UnmarshalBinary(marshal(t, r)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(marshal(t, &r2), marshal(t, r)) {
		t.Fatal("receiver state round trip")
	}
	for i, d := range r2.Forward() {
		if !bytes.Equal(marshal(t, d), marshal(t, r.Forward()[i])) {
			t.Fatal("forwarded distribution differs after a state round trip")
		}
	}
	mustOpen(t, &r2, m[1], "1")
	mustOpen(t, &r2, seal(t, &s2, "new epoch"), "new epoch")
	if got := r2.Gaps(); len(got) != 2 {
		t.Fatalf("gaps %v", got)
	}

	// Failed decoding leaves the value unchanged.
	before := marshal(t, &r2)
	for _, bad := range [][]byte{nil, {'R'}, {'R', 2}, {'S', 1}, marshal(t, s), append(marshal(t, r), 0)} {
		if err := r2.UnmarshalBinary(bad); err == nil {
			t.Fatalf("receiver accepted %x", bad)
		}
	}
	if !bytes.Equal(before, marshal(t, &r2)) {
		t.Fatal("failed UnmarshalBinary changed the receiver")
	}
	sb := marshal(t, &s2)
	for _, bad := range [][]byte{nil, {'S'}, {'S', 2}, marshal(t, r), append(marshal(t, s), 0)} {
		if err := s2.UnmarshalBinary(bad); err == nil {
			t.Fatalf("sender accepted %x", bad)
		}
	}
	if !bytes.Equal(sb, marshal(t, &s2)) {
		t.Fatal("failed UnmarshalBinary changed the sender")
	}
}

func TestStringRedacts(t *testing.T) {
	o := newOwner(t, "redact")
	s := o.sender(t)
	d := o.dist(t, s)
	r := o.receiver()
	process(t, r, d)
	skipAhead(s, 3)
	mustOpen(t, r, seal(t, s, "x"), "x")
	var secrets []string
	for _, k := range [][]byte{s.chain[:], d.ChainKey[:], r.epochs[0].chain[:], r.epochs[0].skipped[0].key[:]} {
		// hex (%x, %s of a byte slice) and decimal (%v of an array, JSON arrays)
		secrets = append(secrets, hex.EncodeToString(k[:4]), strings.Trim(fmt.Sprint(k[:4]), "[]"),
			strings.ReplaceAll(strings.Trim(fmt.Sprint(k[:4]), "[]"), " ", ","))
	}
	secrets = append(secrets, s.signing.D.Text(16)[:8], s.signing.D.Text(10)[:12])
	for _, v := range []any{s, r, d, *s, *r, *d, r.Forward()} {
		outs := map[string]string{}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
			outs[verb] = fmt.Sprintf(verb, v)
		}
		j, _ := json.Marshal(v)
		outs["json"] = string(j)
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("m", "v", v)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("m", "v", v)
		outs["slog"] = logged.String()
		for how, out := range outs {
			for _, sec := range secrets {
				if strings.Contains(out, sec) {
					t.Fatalf("%s of %T leaks a secret: %s", how, v, out)
				}
			}
		}
	}
}

func TestDistributionEncoding(t *testing.T) {
	o := newOwner(t, "dist-encoding")
	s := o.sender(t)
	s = o.rotate(t, s)
	d := o.dist(t, s)
	wire := marshal(t, d)
	if len(wire) != distributionSize+len(testGroup) {
		t.Fatalf("distribution of %d bytes", len(wire))
	}
	p, err := ParseDistribution(wire)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(marshal(t, p), wire) || !p.HasPrev || p.PrevKeyID != d.PrevKeyID {
		t.Fatal("distribution round trip")
	}
	for n := range len(wire) {
		if _, err := ParseDistribution(wire[:n]); err == nil {
			t.Fatalf("truncated distribution (%d bytes) accepted", n)
		}
	}
	bad := bytes.Clone(wire)
	bad[0] = 2
	if _, err := ParseDistribution(bad); !errorsIs(err, ErrUnsupportedVersion) {
		t.Fatalf("version 2: %v", err)
	}
	h := Header{Version: Version, KeyID: s.KeyID(), Iteration: 7}
	hb := marshal(t, h)
	if len(hb) != HeaderSize || hb[0] != Version || !bytes.Equal(hb[1:9], h.KeyID[:]) || hb[12] != 7 {
		t.Fatalf("header %x", hb)
	}
	if _, err := (Header{Version: 2}).MarshalBinary(); err == nil {
		t.Fatal("header version 2 marshalled")
	}
}

func equalGaps(a, b []Gap) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRetiredListIsBounded(t *testing.T) {
	o := newOwner(t, "retired-bound")
	s := o.sender(t)
	r := o.receiver()
	var first []*Distribution
	for i := range MaxEpochs + MaxRetiredKeyIDs + 3 {
		d := o.dist(t, s)
		if i < 4 {
			first = append(first, d)
		}
		process(t, r, d)
		s = o.rotate(t, s)
	}
	if len(r.retired) != MaxRetiredKeyIDs || len(r.epochs) != MaxEpochs {
		t.Fatalf("%d retired, %d epochs", len(r.retired), len(r.epochs))
	}
	// 35 epochs were retired; the 3 oldest ids are forgotten first.
	if slices.Contains(r.retired, first[2].KeyID) || !slices.Contains(r.retired, first[3].KeyID) {
		t.Fatal("retired list does not drop the oldest ids first")
	}
	var back Receiver
	if err := back.UnmarshalBinary(marshal(t, r)); err != nil {
		t.Fatal(err)
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

func TestRandomnessAndArgumentErrors(t *testing.T) {
	for _, n := range []int{0, 8, 40, 41} {
		if _, err := NewSender(&failingReader{n: n}, testGroup); err == nil {
			t.Fatalf("NewSender with %d random bytes", n)
		}
	}
	o := newOwner(t, "errors")
	s := o.sender(t)
	before := marshal(t, s)
	if _, err := s.Rotate(&failingReader{n: 8}); err == nil {
		t.Fatal("Rotate without randomness")
	}
	if !bytes.Equal(before, marshal(t, s)) {
		t.Fatal("failed Rotate changed the sender")
	}
	// A source that keeps yielding the current key id makes Rotate fail, not spin forever.
	if _, err := s.Rotate(repeatingReader(s.keyID[:])); err == nil {
		t.Fatal("Rotate reused the current key id")
	}
	if _, err := s.Distribution(nil, o.id); err == nil {
		t.Fatal("Distribution without installation key")
	}
	if _, err := (&Sender{}).Distribution(o.key, o.id); err == nil {
		t.Fatal("Distribution of a zero Sender")
	}
	if _, err := (&Sender{}).Rotate(o.rand); err == nil {
		t.Fatal("Rotate of a zero Sender")
	}
	if _, err := NewSender(o.rand, make([]byte, MaxGroupSize+1)); !errorsIs(err, ErrMalformed) {
		t.Fatal("oversized group accepted")
	}
	d := o.dist(t, s)
	bad := *d
	bad.SigningKey[0] = 0x04
	if _, err := bad.MarshalBinary(); !errorsIs(err, ErrMalformed) {
		t.Fatal("uncompressed signing key marshalled")
	}
	bad = *d
	bad.Group = nil
	if _, err := bad.MarshalBinary(); !errorsIs(err, ErrMalformed) {
		t.Fatal("empty group marshalled")
	}
	var nilS *Sender
	var nilR *Receiver
	var nilD *Distribution
	for _, v := range []fmt.Stringer{nilS, nilR, nilD} {
		if !strings.Contains(v.String(), "nil") {
			t.Fatal("nil String")
		}
	}
}

// repeatingReader yields its pattern from the start on every Read.
type repeatingReader []byte

func (r repeatingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r[i%len(r)]
	}
	return len(p), nil
}

// TestSkipTo: skipping to an iteration yields exactly the chain that sealing up to it
// would, never moves backwards, and is bounded like a receiver's forward jump.
func TestSkipTo(t *testing.T) {
	o := newOwner(t, "skipto")
	a := o.sender(t)
	enc, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := new(Sender)
	if err := b.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	r := o.receiver()
	process(t, r, o.dist(t, a))
	for range 7 {
		if _, err := a.Seal([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SkipTo(7); err != nil || b.Iteration() != 7 {
		t.Fatalf("SkipTo(7): %v, iteration %d", err, b.Iteration())
	}
	if err := b.SkipTo(3); err != nil || b.Iteration() != 7 {
		t.Fatalf("SkipTo backwards: %v, iteration %d", err, b.Iteration())
	}
	ma, _ := a.Seal([]byte("same"))
	mb, _ := b.Seal([]byte("same"))
	if !bytes.Equal(ma, mb) {
		t.Fatal("skipped chain differs from the sealed one")
	}
	if got, err := r.Open(mb); err != nil || string(got) != "same" {
		t.Fatalf("Open after skip: %v", err)
	}
	if err := b.SkipTo(b.Iteration() + MaxForwardJump + 1); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("long skip: %v", err)
	}
}
