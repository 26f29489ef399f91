// Command doubleratchet writes the conformance vectors of package
// doubleratchet (spec/README.md, ## doubleratchet) to DIR/doubleratchet.json.
// Output is byte-deterministic: every secret and every random byte comes from
// ChaCha8 streams seeded with SHA-256 of fixed labels, and the bytes each
// party actually drew are recorded in the vector.
package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"

	"github.com/chorus-im/chorus/doubleratchet"
)

// Step is one operation of a scenario, run by Party ("initiator" or
// "responder") on its session:
//   - "encrypt": Encrypt(plaintext, ad) must return message (or fail with expect);
//   - "encrypt_discard": Encrypt(empty plaintext, ad) count times, outputs unused;
//   - "decrypt": Decrypt(rand, message, ad) must return plaintext or fail with
//     expect, leaving the session's MarshalBinary bytes unchanged.
//
// ad is the case's ad unless the step has its own.
type Step struct {
	Party     string `json:"party"`
	Op        string `json:"op"`
	Expect    string `json:"expect"`
	Count     int    `json:"count,omitempty"`
	Plaintext string `json:"plaintext,omitempty"`
	Message   string `json:"message,omitempty"`
	AD        string `json:"ad,omitempty"`
}

// Case is one scenario. Sessions start as NewInitiator(initiator_rand,
// shared_secret, responder_ratchet_public) and NewResponder(shared_secret,
// responder_ratchet_private); each party reads its *_rand bytes in order and
// consumes them all by the end of the scenario. expect is the expect of the
// last step.
type Case struct {
	Name                    string `json:"name"`
	Expect                  string `json:"expect"`
	SharedSecret            string `json:"shared_secret"`
	ResponderRatchetPrivate string `json:"responder_ratchet_private"`
	ResponderRatchetPublic  string `json:"responder_ratchet_public"`
	InitiatorRand           string `json:"initiator_rand"`
	ResponderRand           string `json:"responder_rand"`
	AD                      string `json:"ad"`
	Steps                   []Step `json:"steps"`
}

// File is the vector file.
type File struct {
	Description string `json:"description"`
	Cases       []Case `json:"cases"`
}

// recorder keeps the bytes a party drew from its stream.
type recorder struct {
	r   io.Reader
	got bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.got.Write(p[:n])
	return n, err
}

func stream(label string) io.Reader {
	return mrand.NewChaCha8(sha256.Sum256([]byte("chorus/v1/vectors/doubleratchet/" + label)))
}

var classes = map[error]string{
	doubleratchet.ErrDecrypt:        "decrypt_failed",
	doubleratchet.ErrReplay:         "replay",
	doubleratchet.ErrTooFarAhead:    "too_far_ahead",
	doubleratchet.ErrNoSendingChain: "no_sending_chain",
	doubleratchet.ErrMalformed:      "malformed",
	doubleratchet.ErrVersion:        "unsupported_version",
}

func class(err error) string {
	if err == nil {
		return "success"
	}
	for e, c := range classes {
		if errors.Is(err, e) {
			return c
		}
	}
	panic(err)
}

// scenario builds one case step by step.
type scenario struct {
	c        Case
	sessions map[string]*doubleratchet.Session
	rands    map[string]*recorder
	ad       []byte
	msgs     map[string][]byte // messages by plaintext
}

func newScenario(name string) *scenario {
	var sk, spk [32]byte
	io.ReadFull(stream(name+"/secrets"), sk[:])
	io.ReadFull(stream(name+"/spk"), spk[:])
	priv, err := ecdh.X25519().NewPrivateKey(spk[:])
	if err != nil {
		panic(err)
	}
	ad := make([]byte, 162)
	io.ReadFull(stream(name+"/ad"), ad)
	s := &scenario{
		c: Case{Name: name, SharedSecret: hex.EncodeToString(sk[:]),
			ResponderRatchetPrivate: hex.EncodeToString(spk[:]),
			ResponderRatchetPublic:  hex.EncodeToString(priv.PublicKey().Bytes()),
			AD:                      hex.EncodeToString(ad)},
		rands: map[string]*recorder{"initiator": {r: stream(name + "/initiator")}, "responder": {r: stream(name + "/responder")}},
		ad:    ad,
		msgs:  map[string][]byte{},
	}
	ini, err := doubleratchet.NewInitiator(s.rands["initiator"], sk, [32]byte(priv.PublicKey().Bytes()))
	if err != nil {
		panic(err)
	}
	res, err := doubleratchet.NewResponder(sk, priv)
	if err != nil {
		panic(err)
	}
	s.sessions = map[string]*doubleratchet.Session{"initiator": ini, "responder": res}
	return s
}

// send encrypts pt (also the message's name) and records the step.
func (s *scenario) send(party, pt string) []byte {
	m, err := s.sessions[party].Encrypt([]byte(pt), s.ad)
	st := Step{Party: party, Op: "encrypt", Expect: class(err), Plaintext: hex.EncodeToString([]byte(pt))}
	if err == nil {
		st.Message = hex.EncodeToString(m)
		s.msgs[pt] = m
	}
	s.c.Steps = append(s.c.Steps, st)
	return m
}

func (s *scenario) discard(party string, n int) {
	for range n {
		if _, err := s.sessions[party].Encrypt(nil, s.ad); err != nil {
			panic(err)
		}
	}
	s.c.Steps = append(s.c.Steps, Step{Party: party, Op: "encrypt_discard", Expect: "success", Count: n})
}

// recv decrypts msg (with ad, or the case's ad if nil) and records the step.
func (s *scenario) recv(party string, msg, ad []byte) {
	sess := s.sessions[party]
	before, _ := sess.MarshalBinary()
	use := ad
	if use == nil {
		use = s.ad
	}
	pt, err := sess.Decrypt(s.rands[party], msg, use)
	st := Step{Party: party, Op: "decrypt", Expect: class(err), Message: hex.EncodeToString(msg)}
	if ad != nil {
		st.AD = hex.EncodeToString(ad)
	}
	if err == nil {
		st.Plaintext = hex.EncodeToString(pt)
	} else if after, _ := sess.MarshalBinary(); !bytes.Equal(before, after) {
		panic("state changed on failure")
	}
	s.c.Steps = append(s.c.Steps, st)
}

// deliver decrypts the message named pt at the other party.
func (s *scenario) deliver(pt string) {
	m, ok := s.msgs[pt]
	if !ok {
		panic("unknown message " + pt)
	}
	party := "responder"
	if pt[0] == 'b' {
		party = "initiator"
	}
	s.recv(party, m, nil)
}

func (s *scenario) done() Case {
	s.c.InitiatorRand = hex.EncodeToString(s.rands["initiator"].got.Bytes())
	s.c.ResponderRand = hex.EncodeToString(s.rands["responder"].got.Bytes())
	s.c.Expect = s.c.Steps[len(s.c.Steps)-1].Expect
	return s.c
}

func flip(m []byte, i int) []byte {
	c := bytes.Clone(m)
	c[i/8] ^= 1 << (i % 8)
	return c
}

func build() File {
	f := File{Description: "Chorus Double Ratchet: scenarios of encrypt/decrypt steps between an X3DH initiator and " +
		"responder — in order, out of order within and across chains, both directions with ratchet turns, exactly " +
		"MaxSkip ahead, replays (current chain, used skipped key, previous chain, evicted key), too far ahead, and " +
		"tampering of header, ciphertext, tag and associated data in both directions. Every failing step leaves the " +
		"session byte-identical. expect: success | decrypt_failed | replay | too_far_ahead | no_sending_chain | " +
		"malformed | unsupported_version."}
	add := func(s *scenario) { f.Cases = append(f.Cases, s.done()) }

	s := newScenario("in_order_one_direction")
	for _, p := range []string{"a0", "a1", "a2"} {
		s.send("initiator", p)
		s.deliver(p)
	}
	add(s)

	s = newScenario("conversation_both_directions")
	for round := range 3 {
		for i := range round + 1 {
			p := fmt.Sprintf("a%d.%d", round, i)
			s.send("initiator", p)
			s.deliver(p)
		}
		for i := range 2 {
			p := fmt.Sprintf("b%d.%d", round, i)
			s.send("responder", p)
			s.deliver(p)
		}
	}
	add(s)

	s = newScenario("skip_within_chain")
	for _, p := range []string{"a0", "a1", "a2", "a3"} {
		s.send("initiator", p)
	}
	for _, p := range []string{"a3", "a1", "a0", "a2"} {
		s.deliver(p)
	}
	add(s)

	s = newScenario("skip_across_ratchet_turn")
	for _, p := range []string{"a0", "a1", "a2"} {
		s.send("initiator", p)
	}
	s.deliver("a0")
	s.send("responder", "b0")
	s.send("responder", "b1")
	s.deliver("b1")
	s.send("initiator", "a3") // new chain, PN = 3
	s.deliver("a3")
	s.deliver("a2")
	s.deliver("a1")
	s.deliver("b0")
	add(s)

	s = newScenario("skip_exactly_max_skip")
	s.discard("initiator", doubleratchet.MaxSkip)
	s.send("initiator", "a-max")
	s.deliver("a-max")
	add(s)

	s = newScenario("responder_sends_first")
	s.send("responder", "b0")
	add(s)

	s = newScenario("replay_current_chain")
	s.send("initiator", "a0")
	s.deliver("a0")
	s.deliver("a0")
	add(s)

	s = newScenario("replay_used_skipped_key")
	s.send("initiator", "a0")
	s.send("initiator", "a1")
	s.deliver("a1")
	s.deliver("a0")
	s.deliver("a0")
	add(s)

	s = newScenario("replay_previous_chain")
	s.send("initiator", "a0")
	s.deliver("a0")
	s.send("responder", "b0")
	s.deliver("b0")
	s.send("initiator", "a1")
	s.deliver("a1")
	s.deliver("a0")
	add(s)

	s = newScenario("replay_in_initiator")
	s.send("initiator", "a0")
	s.deliver("a0")
	s.send("responder", "b0")
	s.deliver("b0")
	s.deliver("b0")
	add(s)

	s = newScenario("evicted_skipped_key")
	s.send("initiator", "a0")
	s.discard("initiator", doubleratchet.MaxSkip-1)
	s.send("initiator", "a1000")
	s.deliver("a1000") // 1000 skipped, a0's key the oldest
	s.send("responder", "b0")
	s.deliver("b0")
	s.discard("initiator", doubleratchet.MaxSkip)
	s.send("initiator", "a-chain2")
	s.deliver("a-chain2") // 2000 skipped
	s.send("responder", "b1")
	s.deliver("b1")
	s.discard("initiator", 1)
	s.send("initiator", "a-chain3")
	s.deliver("a-chain3") // 2001: a0's key evicted
	s.deliver("a0")
	add(s)

	s = newScenario("too_far_ahead_current_chain")
	s.send("initiator", "a0")
	s.deliver("a0")
	s.discard("initiator", doubleratchet.MaxSkip+1)
	s.send("initiator", "a-far")
	s.deliver("a-far")
	add(s)

	s = newScenario("too_far_ahead_new_chain")
	s.discard("initiator", doubleratchet.MaxSkip+1)
	s.send("initiator", "a-far")
	s.deliver("a-far")
	add(s)

	s = newScenario("too_far_ahead_previous_chain")
	s.send("initiator", "a0")
	s.deliver("a0")
	s.send("responder", "b0")
	s.deliver("b0")
	s.discard("responder", doubleratchet.MaxSkip+1)
	s.send("initiator", "a1")
	s.deliver("a1")
	s.send("responder", "b-new-chain") // PN = MaxSkip+2, the initiator has read 1
	s.deliver("b-new-chain")
	add(s)

	// edit returns the delivered message and, if it changed it, the delivered ad.
	tamper := func(name, dir string, edit func(m, ad []byte) ([]byte, []byte)) {
		s := newScenario(name)
		s.send("initiator", "a0")
		s.deliver("a0")
		from, to := "initiator", "responder"
		if dir == "responder" {
			from, to = "responder", "initiator"
		}
		m := s.send(from, "tampered message")
		tm, tad := edit(bytes.Clone(m), bytes.Clone(s.ad))
		s.recv(to, tm, tad)
		add(s)
	}
	for _, dir := range []string{"initiator", "responder"} {
		tamper("tampered_ciphertext_from_"+dir, dir, func(m, _ []byte) ([]byte, []byte) { return flip(m, 8*doubleratchet.HeaderSize+3), nil })
		tamper("tampered_tag_from_"+dir, dir, func(m, _ []byte) ([]byte, []byte) { return flip(m, 8*len(m)-1), nil })
		tamper("tampered_counter_from_"+dir, dir, func(m, _ []byte) ([]byte, []byte) { return flip(m, 8*40+1), nil })
		tamper("tampered_previous_length_from_"+dir, dir, func(m, _ []byte) ([]byte, []byte) { return flip(m, 8*36), nil })
		tamper("tampered_ratchet_key_from_"+dir, dir, func(m, _ []byte) ([]byte, []byte) { return flip(m, 8*5+2), nil })
		tamper("tampered_ad_from_"+dir, dir, func(m, ad []byte) ([]byte, []byte) { return m, flip(ad, 100) })
	}
	tamper("truncated_message", "initiator", func(m, _ []byte) ([]byte, []byte) { return m[:doubleratchet.Overhead-1], nil })
	tamper("message_version_2", "initiator", func(m, _ []byte) ([]byte, []byte) { m[0] = 2; return m, nil })
	// Precedence of the header checks: length (malformed), version (unsupported_version),
	// ratchet key canonical (malformed), then N = 2^32-1 (too_far_ahead).
	nonCanonical := func(m []byte) { m[1] = 0xee; copy(m[2:32], bytes.Repeat([]byte{0xff}, 30)); m[32] = 0x7f } // p + 1
	reserved := func(m []byte) { copy(m[37:41], []byte{0xff, 0xff, 0xff, 0xff}) }
	tamper("ratchet_key_bit_255_set", "initiator", func(m, _ []byte) ([]byte, []byte) { m[32] |= 0x80; return m, nil })
	tamper("ratchet_key_not_reduced", "initiator", func(m, _ []byte) ([]byte, []byte) { nonCanonical(m); return m, nil })
	tamper("reserved_counter", "initiator", func(m, _ []byte) ([]byte, []byte) { reserved(m); return m, nil })
	tamper("truncated_message_version_2", "initiator", func(m, _ []byte) ([]byte, []byte) {
		m[0] = 2
		return m[:doubleratchet.Overhead-1], nil
	})
	tamper("version_2_non_canonical_ratchet_key", "initiator", func(m, _ []byte) ([]byte, []byte) {
		m[0] = 2
		nonCanonical(m)
		return m, nil
	})
	tamper("non_canonical_ratchet_key_reserved_counter", "initiator", func(m, _ []byte) ([]byte, []byte) {
		nonCanonical(m)
		reserved(m)
		return m, nil
	})
	tamper("version_2_reserved_counter", "initiator", func(m, _ []byte) ([]byte, []byte) {
		m[0] = 2
		reserved(m)
		return m, nil
	})
	// The per-step ad: the right ad given explicitly opens (a step's ad replaces the case's).
	tamper("step_ad_equal_to_case_ad", "responder", func(m, ad []byte) ([]byte, []byte) { return m, ad })
	return f
}

func main() {
	out := flag.String("out", "spec/vectors", "output directory")
	flag.Parse()
	data, err := json.MarshalIndent(build(), "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(*out, "doubleratchet.json"), append(data, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "doubleratchet vectors:", err)
		os.Exit(1)
	}
}
