// Command protocol writes the conformance vectors of the Chorus engine's wire formats and
// derivations (spec/README.md, ## protocol) to DIR/protocol.json. The derivations are
// computed here independently of package protocol (from the spec's formulas), so the
// package's test checks its implementation against a second one. Output is
// byte-deterministic: inputs come from a SHA-256 counter stream with a fixed seed.
package main

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/chacha20poly1305"
	"lukechampine.com/blake3"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol/wire"
)

type stream struct {
	seed []byte
	ctr  uint64
	buf  []byte
}

func (s *stream) bytes(n int) []byte {
	for len(s.buf) < n {
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], s.ctr)
		s.ctr++
		h := sha256.Sum256(append(append([]byte{}, s.seed...), c[:]...))
		s.buf = append(s.buf, h[:]...)
	}
	out := s.buf[:n:n]
	s.buf = s.buf[n:]
	return out
}

// Case is one vector; Kind selects the function under test.
type Case struct {
	Name         string `json:"name"`
	Expect       string `json:"expect"`
	Kind         string `json:"kind"`
	Secret       string `json:"secret,omitempty"`
	InitSend     string `json:"initiator_send_hint,omitempty"`
	InitRecv     string `json:"initiator_recv_hint,omitempty"`
	Group        string `json:"group_id,omitempty"`
	Installation string `json:"installation,omitempty"`
	KeyID        string `json:"key_id,omitempty"`
	Iteration    uint32 `json:"iteration,omitempty"`
	MessageID    string `json:"message_id,omitempty"`
	Hint         string `json:"hint,omitempty"`
	Topic        string `json:"topic,omitempty"`
	Nonce        string `json:"nonce,omitempty"`
	Frame        string `json:"frame,omitempty"`
	Payload      string `json:"payload,omitempty"`
	Signed       string `json:"signed,omitempty"`
	Digest       string `json:"digest,omitempty"`
	AccountKey   string `json:"account_private,omitempty"`
	Signature    string `json:"signature,omitempty"`
	InstKey      string `json:"installation_private,omitempty"`
	Card         string `json:"card,omitempty"`
	Hash         string `json:"hash,omitempty"`
	SPKPrivate   string `json:"spk_private,omitempty"`
	EphPrivate   string `json:"ephemeral_private,omitempty"`
	Header       string `json:"x3dh_header,omitempty"`
	Message      string `json:"dr_message,omitempty"`
	Index        uint64 `json:"index,omitempty"`
	Plaintext    string `json:"plaintext,omitempty"`
	Padded       string `json:"padded,omitempty"`
}

type file struct {
	Description string `json:"description"`
	Cases       []Case `json:"cases"`
}

func h(b []byte) string { return hex.EncodeToString(b) }

func main() {
	out := flag.String("out", "spec/vectors", "output directory")
	flag.Parse()
	s := &stream{seed: []byte("chorus/v1/vectors/protocol")}
	var cases []Case

	for i := 0; i < 2; i++ {
		secret := s.bytes(32)
		okm, _ := hkdf.Key(sha256.New, secret, nil, "chorus/v1/protocol/session-hint", 32)
		cases = append(cases, Case{Name: fmt.Sprintf("session hints %d", i), Expect: "success", Kind: "session_hints",
			Secret: h(secret), InitSend: h(okm[:16]), InitRecv: h(okm[16:])})
	}
	for i, it := range []uint32{0, 1, 0xfffffffe} {
		g, inst, key := s.bytes(32), s.bytes(16), s.bytes(8)
		m := sha256.New()
		label := "chorus/v1/protocol/message-id"
		m.Write([]byte{byte(len(label))})
		m.Write([]byte(label))
		m.Write(g)
		m.Write(inst)
		m.Write(key)
		m.Write(binary.BigEndian.AppendUint32(nil, it))
		cases = append(cases, Case{Name: fmt.Sprintf("message id %d", i), Expect: "success", Kind: "message_id",
			Group: h(g), Installation: h(inst), KeyID: h(key), Iteration: it, MessageID: h(m.Sum(nil))})
	}
	{
		inst := s.bytes(16)
		d := sha256.Sum256(append([]byte("chorus/v1/protocol/initial-slot-hint"), inst...))
		cases = append(cases, Case{Name: "initial slot hint", Expect: "success", Kind: "initial_slot_hint",
			Installation: h(inst), Hint: h(d[:16])})
	}
	{
		topic := "/chorus/1/g-0123456789abcdef0123456789abcdef/proto"
		payload := s.bytes(40)
		m := sha256.New()
		m.Write([]byte{byte(len(topic) >> 8), byte(len(topic))})
		m.Write([]byte(topic))
		m.Write(payload)
		cases = append(cases, Case{Name: "envelope hash", Expect: "success", Kind: "envelope_hash", Topic: topic,
			Payload: h(payload), Hash: h(m.Sum(nil))})
		// An envelope of more than 4096 bytes hashed: BLAKE3-256.
		large := make([]byte, 4096)
		for i := range large {
			large[i] = byte(i * 7)
		}
		in := append(append([]byte{byte(len(topic) >> 8), byte(len(topic))}, topic...), large...)
		lh := blake3.Sum256(in)
		cases = append(cases, Case{Name: "envelope hash, large", Expect: "success", Kind: "envelope_hash", Topic: topic,
			Payload: h(large), Hash: h(lh[:])})
	}
	// Group publishes: a message frame and a frame with a rotation block.
	secret := s.bytes(32)
	topic := "/chorus/1/g-00112233445566778899aabbccddeeff/proto"
	key, _ := hkdf.Key(sha256.New, secret, nil, "chorus/v1/protocol/group-key", 32)
	aead, _ := chacha20poly1305.NewX(key)
	var pub wire.PublicDistribution
	pub.Group = s.bytes(32)
	copy(pub.Installation[:], s.bytes(16))
	copy(pub.KeyID[:], s.bytes(8))
	copy(pub.SigningKey[:], append([]byte{2}, s.bytes(32)...))
	pub.HasPrev = true
	copy(pub.PrevKeyID[:], s.bytes(8))
	pub.PrevLastIteration = 7
	copy(pub.Signature[:], s.bytes(64))
	var sl wire.Slot
	copy(sl.Hint[:], s.bytes(16))
	sl.Message = s.bytes(93)
	frames := []*wire.GroupFrame{
		{Message: s.bytes(120)},
		{Rotation: &wire.RotationBlock{Public: pub, Part: 0, Parts: 1, Slots: []wire.Slot{sl}}, Message: s.bytes(120)},
	}
	for i, f := range frames {
		fb, err := f.Marshal()
		if err != nil {
			panic(err)
		}
		nonce := s.bytes(24)
		ad := append([]byte{1}, topic...)
		payload := append(append([]byte{1}, nonce...), aead.Seal(nil, nonce, fb, ad)...)
		cases = append(cases, Case{Name: fmt.Sprintf("group payload %d", i), Expect: "success", Kind: "group_payload",
			Secret: h(secret), Topic: topic, Nonce: h(nonce), Frame: h(fb), Payload: h(payload)})
		bad := append([]byte{}, payload...)
		bad[len(bad)-1] ^= 1
		cases = append(cases, Case{Name: fmt.Sprintf("group payload %d, tag flipped", i), Expect: "bad_tag", Kind: "group_payload",
			Secret: h(secret), Topic: topic, Payload: h(bad)})
	}
	cases = append(cases,
		Case{Name: "frame without content", Expect: "malformed", Kind: "group_frame", Frame: "0100"},
		Case{Name: "frame with unknown flag", Expect: "malformed", Kind: "group_frame", Frame: "010400000000"},
		Case{Name: "frame with trailing byte", Expect: "malformed", Kind: "group_frame", Frame: "01020000000000"},
		Case{Name: "empty message frame", Expect: "success", Kind: "group_frame", Frame: "010200000000"},
	)
	// Card signature: SHA-256(u8<label> || u32(len) || signed part), secp256k1 R||S (RFC 6979).
	{
		var priv []byte
		for {
			priv = s.bytes(32)
			if _, err := crypto.ToECDSA(priv); err == nil {
				break
			}
		}
		k, _ := crypto.ToECDSA(priv)
		card := &devicelist.List{Clock: 3, Entries: []devicelist.Entry{{}}}
		copy(card.Account[:], crypto.FromECDSAPub(&k.PublicKey))
		copy(card.Entries[0].ID[:], s.bytes(16))
		copy(card.Entries[0].DH[:], s.bytes(32))
		copy(card.Entries[0].Signing[:], crypto.CompressPubkey(&k.PublicKey))
		signed, _ := card.SignedPart()
		label := "chorus/v1/protocol/card"
		pre := append([]byte{byte(len(label))}, label...)
		pre = binary.BigEndian.AppendUint32(pre, uint32(len(signed)))
		d := sha256.Sum256(append(pre, signed...))
		sig, err := crypto.Sign(d[:], k)
		if err != nil {
			panic(err)
		}
		cases = append(cases, Case{Name: "card signature", Expect: "success", Kind: "card_signature", Signed: h(signed),
			Digest: h(d[:]), AccountKey: h(priv), Signature: h(sig[:64])})
	}
	// Initial inbox frame sealed to a signed prekey.
	{
		spk, _ := ecdh.X25519().NewPrivateKey(s.bytes(32))
		eph, _ := ecdh.X25519().NewPrivateKey(s.bytes(32))
		hdr, msg := s.bytes(119), s.bytes(120)
		shared, _ := eph.ECDH(spk.PublicKey())
		salt := append(append([]byte{}, eph.PublicKey().Bytes()...), spk.PublicKey().Bytes()...)
		k, _ := hkdf.Key(sha256.New, shared, salt, "chorus/v1/protocol/initial-seal", 32)
		a, _ := chacha20poly1305.New(k)
		inner, _ := (&wire.InitialPayload{Header: hdr, Message: msg}).Marshal()
		header := append([]byte{1, 1}, make([]byte, 16)...)
		body := append(eph.PublicKey().Bytes(), a.Seal(nil, make([]byte, 12), inner, header)...)
		frame := append(header, body...)
		cases = append(cases, Case{Name: "initial inbox frame", Expect: "success", Kind: "initial_seal",
			SPKPrivate: h(spk.Bytes()), EphPrivate: h(eph.Bytes()), Header: h(hdr), Message: h(msg), Payload: h(frame)})
		bad := append([]byte{}, frame...)
		bad[40] ^= 0x80
		cases = append(cases, Case{Name: "initial inbox frame, ciphertext flipped", Expect: "bad_tag", Kind: "initial_seal",
			SPKPrivate: h(spk.Bytes()), Payload: h(bad)})
	}

	// Installation binding: the installation's signing key signs SHA-256(u8<label> ||
	// account(65) || id(16) || dh(32) || signing(33)); the card carries it after the account
	// signature as u16<id(16) || binding(64)>.
	{
		key := func() ([]byte, *ecdsa.PrivateKey) {
			for {
				priv := s.bytes(32)
				if k, err := crypto.ToECDSA(priv); err == nil {
					return priv, k
				}
			}
		}
		accPriv, acc := key()
		instPriv, inst := key()
		card := &devicelist.List{Clock: 1, Entries: []devicelist.Entry{{}}}
		copy(card.Account[:], crypto.FromECDSAPub(&acc.PublicKey))
		e := &card.Entries[0]
		copy(e.ID[:], s.bytes(16))
		copy(e.DH[:], s.bytes(32))
		copy(e.Signing[:], crypto.CompressPubkey(&inst.PublicKey))
		label := "chorus/v1/protocol/installation-binding"
		pre := append([]byte{byte(len(label))}, label...)
		pre = append(append(append(append(pre, card.Account[:]...), e.ID[:]...), e.DH[:]...), e.Signing[:]...)
		d := sha256.Sum256(pre)
		bsig, err := crypto.Sign(d[:], inst)
		if err != nil {
			panic(err)
		}
		e.Binding = bsig[:64]
		signed, _ := card.SignedPart()
		pc := append([]byte{byte(len("chorus/v1/protocol/card"))}, "chorus/v1/protocol/card"...)
		pc = binary.BigEndian.AppendUint32(pc, uint32(len(signed)))
		cd := sha256.Sum256(append(pc, signed...))
		csig, err := crypto.Sign(cd[:], acc)
		if err != nil {
			panic(err)
		}
		copy(card.Signature[:], csig[:64])
		raw, err := card.Marshal()
		if err != nil {
			panic(err)
		}
		// signature || u16(80) || id || binding || u32(0): written out as a check
		tail := append(append([]byte{}, csig[:64]...), 0, 80)
		tail = append(append(append(tail, e.ID[:]...), bsig[:64]...), 0, 0, 0, 0)
		if string(raw) != string(append(append([]byte{}, signed...), tail...)) {
			panic("card encoding")
		}
		cases = append(cases, Case{Name: "installation binding", Expect: "success", Kind: "installation_binding", Signed: h(pre),
			Digest: h(d[:]), AccountKey: h(accPriv), InstKey: h(instPriv), Signature: h(bsig[:64]), Card: h(raw)})
	}

	// Announcements (spec: protocol › Identities, "Announcement secret", "Announcement"):
	// secret = HKDF(account private key, ∅, "chorus/v1/protocol/announce-secret", 32);
	// okm = HKDF(secret, salt = account key (65), "chorus/v1/protocol/announce", 40);
	// payload = nonce || XChaCha20-Poly1305(okm[0:32], nonce, u32(len) || card || zeros to
	// 8192, ad = topic). And the contact code payload with the compressed account key.
	{
		var priv []byte
		for {
			priv = s.bytes(32)
			if _, err := crypto.ToECDSA(priv); err == nil {
				break
			}
		}
		key, _ := crypto.ToECDSA(priv)
		pub := crypto.FromECDSAPub(&key.PublicKey)
		secret, _ := hkdf.Key(sha256.New, priv, nil, "chorus/v1/protocol/announce-secret", 32)
		okm, _ := hkdf.Key(sha256.New, secret, pub, "chorus/v1/protocol/announce", 40)
		topic := fmt.Sprintf("/chorus/1/announce-%d/proto", binary.BigEndian.Uint64(okm[32:40])%64)
		card := &devicelist.List{Clock: 7}
		copy(card.Account[:], pub)
		copy(card.Signature[:], s.bytes(64))
		cb, err := card.Marshal()
		if err != nil {
			panic(err)
		}
		padded := make([]byte, 8192)
		binary.BigEndian.PutUint32(padded, uint32(len(cb)))
		copy(padded[4:], cb)
		aead, err := chacha20poly1305.NewX(okm[:32])
		if err != nil {
			panic(err)
		}
		nonce := s.bytes(24)
		payload := append(append([]byte{}, nonce...), aead.Seal(nil, nonce, padded, []byte(topic))...)
		cases = append(cases, Case{Name: "announcement", Expect: "success", Kind: "announcement", AccountKey: h(priv),
			Secret: h(secret), Topic: topic, Nonce: h(nonce), Card: h(cb), Payload: h(payload)})
		bad := append([]byte{}, payload...)
		bad[30] ^= 1
		cases = append(cases, Case{Name: "announcement, ciphertext flipped", Expect: "bad_tag", Kind: "announcement",
			AccountKey: h(priv), Secret: h(secret), Topic: topic, Payload: h(bad)})
		code := append(append(append([]byte{2}, secret...), crypto.CompressPubkey(&key.PublicKey)...), cb[66:]...)
		cases = append(cases, Case{Name: "contact code", Expect: "success", Kind: "contact_code", Secret: h(secret), Card: h(cb),
			Payload: h(code)})
	}

	// Inbox hint chains: the hints of frame n of each direction.
	{
		secret := s.bytes(32)
		okm, _ := hkdf.Key(sha256.New, secret, nil, "chorus/v1/protocol/inbox-hint-chain", 64)
		at := func(key []byte, n uint64) string {
			m := hmac.New(sha256.New, key)
			m.Write(binary.BigEndian.AppendUint64(nil, n))
			return h(m.Sum(nil)[:16])
		}
		for _, n := range []uint64{0, 1, 63, 1 << 40} {
			cases = append(cases, Case{Name: fmt.Sprintf("inbox hint chain, frame %d", n), Expect: "success", Kind: "hint_chain",
				Secret: h(secret), Index: n, InitSend: at(okm[:32], n), InitRecv: at(okm[32:], n)})
		}
	}
	// Inbox padding: pt || 0x80 || zeros up to the bucket (256, 512, ... here).
	{
		pad := func(pt []byte, size int) []byte {
			out := make([]byte, size)
			copy(out, pt)
			out[len(pt)] = 0x80
			return out
		}
		for _, c := range []struct{ n, size int }{{0, 256}, {5, 256}, {255, 256}, {256, 512}, {700, 1024}} {
			pt := s.bytes(c.n)
			cases = append(cases, Case{Name: fmt.Sprintf("inbox padding, %d bytes", c.n), Expect: "success", Kind: "inbox_padding",
				Plaintext: h(pt), Padded: h(pad(pt, c.size))})
		}
		pt := s.bytes(20)
		noMarker := pad(pt, 256)
		noMarker[20] = 0x01
		nonZero := pad(pt, 256)
		nonZero[255] = 0x01
		for _, c := range []struct {
			name string
			b    []byte
		}{
			{"no marker", noMarker},
			{"not its bucket", pad(pt, 512)},
			{"not a bucket", pad(pt, 300)},
			{"marker only", pad(pt, 21)},
			{"zeros", make([]byte, 256)},
			{"byte after the marker", nonZero},
		} {
			cases = append(cases, Case{Name: "inbox padding, " + c.name, Expect: "malformed", Kind: "inbox_padding", Padded: h(c.b)})
		}
	}

	// Group padding (key schedule v2, frame v2): zeros after the frame up to the bucket of
	// the payload (41 bytes of outer layer + frame); key-block frames on key-block buckets.
	{
		var buckets []int
		for n := 384; n <= 2048; n += 128 {
			buckets = append(buckets, n)
		}
		for n := 4096; n <= 65536; n *= 2 {
			buckets = append(buckets, n)
		}
		for n := 81920; n <= 147456; n += 16384 {
			buckets = append(buckets, n)
		}
		buckets = append(buckets, 149504)
		bucket := func(n int, block bool) int {
			for _, b := range buckets {
				if n <= b && (!block || (b >= 1024 && (b&(b-1) == 0 || b > 65536))) {
					return b
				}
			}
			return n
		}
		frame := func(block, msg []byte) []byte {
			var flags byte
			if block != nil {
				flags |= 1
			}
			if msg != nil {
				flags |= 2
			}
			out := []byte{2, flags}
			if block != nil {
				out = append(binary.BigEndian.AppendUint32(out, uint32(len(block))), block...)
			}
			if msg != nil {
				out = append(binary.BigEndian.AppendUint32(out, uint32(len(msg))), msg...)
			}
			return out
		}
		pad := func(f []byte, size int) []byte { return append(append([]byte{}, f...), make([]byte, size-len(f))...) }
		padded := func(f []byte, block bool) []byte { return pad(f, bucket(41+len(f), block)-41) }
		for _, c := range []struct{ block, msg int }{{0, 10}, {0, 90}, {0, 337}, {0, 338}, {0, 1100}, {330, 0}, {440, 0}, {990, 0}, {1000, 200}} {
			var block, msg []byte
			if c.block > 0 {
				block = s.bytes(c.block)
			}
			if c.msg > 0 {
				msg = s.bytes(c.msg)
			}
			f := frame(block, msg)
			cases = append(cases, Case{Name: fmt.Sprintf("group padding, block %d message %d", c.block, c.msg), Expect: "success",
				Kind: "group_padding", Plaintext: h(f), Padded: h(padded(f, block != nil))})
		}
		m := frame(nil, s.bytes(50))
		k := frame(s.bytes(300), nil)
		nonZero := padded(m, false)
		nonZero[len(nonZero)-1] = 1
		for _, c := range []struct {
			name string
			b    []byte
		}{
			{"non-zero padding byte", nonZero},
			{"one byte short", padded(m, false)[:384-41-1]},
			{"the next bucket", pad(m, 512-41)},
			{"unpadded", m},
			{"key block on a message bucket", pad(k, 384-41)},
		} {
			cases = append(cases, Case{Name: "group padding, " + c.name, Expect: "malformed", Kind: "group_padding", Padded: h(c.b)})
		}
	}

	f := file{Description: "Chorus engine (protocol): derivations, group payload encryption, frames, card signature, installation binding, sealed initial frames, announcements, contact codes, inbox hint chains and padding, v2 group padding. spec/README.md ## protocol.", Cases: cases}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "protocol.json"), append(b, '\n'), 0o644); err != nil {
		panic(err)
	}
}
