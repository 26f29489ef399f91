package senderkeys

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Receiver holds what one recipient installation knows of one sender installation in one
// group: up to MaxEpochs sender keys (epochs), oldest first, so that messages sealed just
// before a rotation still open.
type Receiver struct {
	group        []byte
	installation [16]byte
	owner        [33]byte // the sender installation's compressed secp256k1 signing key
	epochs       []*epoch // oldest first
	retired      []KeyID  // key ids of retired epochs, oldest first, at most MaxRetiredKeyIDs
}

// epoch is one sender key as a receiver holds it.
type epoch struct {
	keyID     KeyID
	signing   [33]byte
	pub       []byte // signing in uncompressed form (faster to verify), derived
	hasPrev   bool
	prevKeyID KeyID
	prevLast  uint32
	signature [SignatureSize]byte // the owner's distribution signature, kept for Forward
	next      uint32              // lowest iteration not yet reached by the chain
	chain     [keySize]byte       // chain key of iteration next
	skipped   []skippedKey        // message keys of skipped iterations, ascending, all < next
}

// skippedKey is the message key of an iteration the receiver skipped over.
type skippedKey struct {
	iteration uint32
	key       [keySize]byte
}

// Gap is a run of iterations [From, To) of one sender key that the receiver has not seen
// and can still open.
type Gap struct {
	KeyID    KeyID
	From, To uint32
}

// NewReceiver returns an empty receiver for the messages of one sender installation in
// group; installationSigningKey is that installation's compressed secp256k1 key, which
// must have signed every distribution the receiver accepts.
func NewReceiver(group []byte, installation [16]byte, installationSigningKey [33]byte) *Receiver {
	return &Receiver{
		group:        append([]byte(nil), group...),
		installation: installation,
		owner:        installationSigningKey,
	}
}

func (r *Receiver) epoch(id KeyID) *epoch {
	for _, e := range r.epochs {
		if e.keyID == id {
			return e
		}
	}
	return nil
}

// Has reports whether the receiver holds the sender key id.
func (r *Receiver) Has(id KeyID) bool { return r.epoch(id) != nil }

// Process verifies a distribution (the owner installation's signature, group and
// installation) and adds its sender key as a new epoch.
//
// A distribution for a key id already held changes nothing (it never moves an epoch
// backwards or brings back consumed iterations) and returns nil, unless its signed fields
// contradict the held ones (ErrDistributionMismatch). A key id the receiver retired is
// refused with ErrStaleDistribution. When MaxEpochs are held, the oldest epoch is retired;
// a distribution that would itself be the oldest is refused with ErrStaleDistribution.
// Epochs are ordered oldest first: an epoch comes before every held epoch that names it
// as previous key, and otherwise in the order the receiver got them.
// On error the receiver is unchanged.
func (r *Receiver) Process(d *Distribution) error {
	if d == nil {
		return fmt.Errorf("%w: nil distribution", ErrMalformed)
	}
	if err := d.validate(); err != nil {
		return err
	}
	if !bytes.Equal(d.Group, r.group) || d.Installation != r.installation {
		return fmt.Errorf("%w: other group or installation", ErrDistributionMismatch)
	}
	if e := r.epoch(d.KeyID); e != nil {
		held := r.distribution(e)
		if held.signedEqual(d) && held.Signature == d.Signature {
			return nil
		}
		if !d.verify(r.owner[:]) {
			return ErrBadSignature
		}
		if !held.signedEqual(d) {
			return fmt.Errorf("%w: conflicting distribution for key %s", ErrDistributionMismatch, d.KeyID)
		}
		return nil
	}
	if slices.Contains(r.retired, d.KeyID) {
		return fmt.Errorf("%w: key %s was retired", ErrStaleDistribution, d.KeyID)
	}
	if !d.verify(r.owner[:]) {
		return ErrBadSignature
	}
	pub, err := uncompressedPublic(d.SigningKey)
	if err != nil {
		return err
	}
	e := &epoch{
		keyID:     d.KeyID,
		signing:   d.SigningKey,
		pub:       pub,
		hasPrev:   d.HasPrev,
		prevKeyID: d.PrevKeyID,
		prevLast:  d.PrevLastIteration,
		signature: d.Signature,
		next:      d.Iteration,
		chain:     d.ChainKey,
	}
	epochs := orderEpochs(append(slices.Clone(r.epochs), e))
	if len(epochs) > MaxEpochs {
		if epochs[0] == e {
			return fmt.Errorf("%w: key %s is older than every held epoch", ErrStaleDistribution, d.KeyID)
		}
		r.retire(epochs[0])
		epochs = epochs[1:]
	}
	r.epochs = epochs
	return nil
}

// orderEpochs sorts epochs (given in arrival order) so that each comes after the held
// epoch it names as previous key, keeping arrival order otherwise (a stable topological
// sort; a cycle, which only a misbehaving owner can sign, is broken in arrival order).
func orderEpochs(list []*epoch) []*epoch {
	out := make([]*epoch, 0, len(list))
	placed := make([]bool, len(list))
	prev := make([]int, len(list))
	for i, e := range list {
		prev[i] = -1
		if e.hasPrev {
			prev[i] = slices.IndexFunc(list, func(p *epoch) bool { return p.keyID == e.prevKeyID })
		}
	}
	for len(out) < len(list) {
		pick := -1
		for i := range list {
			if !placed[i] && (prev[i] < 0 || placed[prev[i]]) {
				pick = i
				break
			}
		}
		if pick < 0 { // cycle
			pick = slices.Index(placed, false)
		}
		placed[pick] = true
		out = append(out, list[pick])
	}
	return out
}

// retire forgets an epoch's keys and remembers its key id.
func (r *Receiver) retire(e *epoch) {
	wipe(e.chain[:])
	for i := range e.skipped {
		wipe(e.skipped[i].key[:])
	}
	e.skipped = nil
	r.retired = append(r.retired, e.keyID)
	if n := len(r.retired) - MaxRetiredKeyIDs; n > 0 {
		r.retired = slices.Delete(r.retired, 0, n)
	}
}

// distribution rebuilds the signed part of an epoch's distribution.
func (r *Receiver) distribution(e *epoch) *Distribution {
	return &Distribution{
		Group:             append([]byte(nil), r.group...),
		Installation:      r.installation,
		KeyID:             e.keyID,
		SigningKey:        e.signing,
		HasPrev:           e.hasPrev,
		PrevKeyID:         e.prevKeyID,
		PrevLastIteration: e.prevLast,
		Signature:         e.signature,
	}
}

// Forward returns, for every epoch held (oldest first), a distribution of the receiver's
// current state of it: the chain key of the next iteration it has not reached, under the
// owner's original signature. A newcomer that processes them can open messages from that
// iteration on, never earlier: skipped message keys are not forwarded.
func (r *Receiver) Forward() []*Distribution {
	out := make([]*Distribution, 0, len(r.epochs))
	for _, e := range r.epochs {
		d := r.distribution(e)
		d.Iteration = e.next
		d.ChainKey = e.chain
		out = append(out, d)
	}
	return out
}

// Open verifies a group message's signature, then derives its message key and decrypts
// it. Errors: ErrMalformed or ErrUnsupportedVersion (header), ErrUnknownKey,
// ErrBadSignature, ErrReplay (iteration opened before, evicted, or below the state the
// receiver was given), ErrTooFarAhead (more than MaxForwardJump iterations skipped),
// ErrDecrypt. Every check happens before any state changes: on error the receiver is
// unchanged.
func (r *Receiver) Open(message []byte) ([]byte, error) {
	h, err := ParseHeader(message)
	if err != nil {
		return nil, err
	}
	e := r.epoch(h.KeyID)
	if e == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, h.KeyID)
	}
	if !verifyMessage(message, e.pub) {
		return nil, ErrBadSignature
	}
	k := newKDF()
	defer k.clear()
	var mk [keySize]byte
	defer wipe(mk[:])

	if h.Iteration < e.next {
		i, ok := e.findSkipped(h.Iteration)
		if !ok {
			return nil, fmt.Errorf("%w: key %s iteration %d", ErrReplay, h.KeyID, h.Iteration)
		}
		mk = e.skipped[i].key
		pt, err := openMessage(k, &mk, message)
		if err != nil {
			return nil, err
		}
		e.removeSkipped(i)
		return pt, nil
	}

	a, err := e.advance(k, h.Iteration, &mk)
	if err != nil {
		return nil, err
	}
	pt, err := openMessage(k, &mk, message)
	if err != nil {
		a.discard(e)
		return nil, err
	}
	e.commit(a)
	return pt, nil
}

// advanced is a tentative move of an epoch's chain to a later iteration.
type advanced struct {
	next    uint32
	chain   [keySize]byte
	drop    int          // stored skipped keys evicted (lowest first)
	skipped []skippedKey // the new skipped list; shares e.skipped's array beyond its length
	grew    bool
}

// advance derives, without changing e, the message key of iteration target (>= e.next)
// into mk, the chain key after it, and the skipped list after storing the message keys
// of the iterations jumped over (at most MaxSkippedKeys in all, lowest evicted first;
// keys that would be evicted at once are never derived).
func (e *epoch) advance(k *kdf, target uint32, mk *[keySize]byte) (advanced, error) {
	jump := target - e.next
	if jump > MaxForwardJump {
		return advanced{}, fmt.Errorf("%w: %d iterations ahead", ErrTooFarAhead, jump)
	}
	a := advanced{next: target + 1, chain: e.chain, skipped: e.skipped}
	if jump > 0 {
		keep := int(min(jump, MaxSkippedKeys))
		a.drop = max(0, len(e.skipped)+keep-MaxSkippedKeys)
		// Appending past len(e.skipped) leaves e.skipped itself unchanged.
		a.skipped = slices.Grow(e.skipped[a.drop:], keep)
		a.grew = true
		for i := e.next; i < target; i++ {
			if int(target-i) > keep {
				k.step(&a.chain, nil)
				continue
			}
			a.skipped = append(a.skipped, skippedKey{iteration: i})
			k.step(&a.chain, &a.skipped[len(a.skipped)-1].key)
		}
	}
	k.step(&a.chain, mk)
	return a, nil
}

// discard wipes the key material of an advance that is not committed.
func (a *advanced) discard(e *epoch) {
	wipe(a.chain[:])
	if a.grew {
		for i := len(e.skipped) - a.drop; i < len(a.skipped); i++ {
			wipe(a.skipped[i].key[:])
		}
	}
}

// commit applies an advance to e.
func (e *epoch) commit(a advanced) {
	for i := range a.drop {
		wipe(e.skipped[i].key[:])
	}
	e.skipped = a.skipped
	e.chain = a.chain
	e.next = a.next
	wipe(a.chain[:])
}

func (e *epoch) findSkipped(iteration uint32) (int, bool) {
	return slices.BinarySearchFunc(e.skipped, iteration, func(s skippedKey, it uint32) int {
		switch {
		case s.iteration < it:
			return -1
		case s.iteration > it:
			return 1
		}
		return 0
	})
}

func (e *epoch) removeSkipped(i int) {
	wipe(e.skipped[i].key[:])
	e.skipped = slices.Delete(e.skipped, i, i+1) // zeroes the vacated element
}

// Gaps lists, per epoch held (oldest first) and in ascending order, the maximal runs of
// iterations the receiver has not seen and can still open: skipped iterations whose keys
// are stored, and the tail of an epoch up to the end a later epoch's distribution
// announced (its PrevLastIteration). Iterations evicted after MaxSkippedKeys, before the
// state the receiver was given, or after the newest message of a current epoch are not
// listed.
func (r *Receiver) Gaps() []Gap {
	var gaps []Gap
	add := func(id KeyID, from, to uint32) {
		if n := len(gaps); n > 0 && gaps[n-1].KeyID == id && gaps[n-1].To == from {
			gaps[n-1].To = to
			return
		}
		gaps = append(gaps, Gap{KeyID: id, From: from, To: to})
	}
	for _, e := range r.epochs {
		for _, s := range e.skipped {
			add(e.keyID, s.iteration, s.iteration+1)
		}
		if end, ok := r.announcedEnd(e.keyID); ok && end > e.next {
			add(e.keyID, e.next, end)
		}
	}
	return gaps
}

// announcedEnd returns the number of iterations a later epoch says key id sealed.
func (r *Receiver) announcedEnd(id KeyID) (uint32, bool) {
	var end uint32
	found := false
	for _, e := range r.epochs {
		if e.hasPrev && e.prevKeyID == id {
			end, found = max(end, e.prevLast), true
		}
	}
	return end, found
}

// String describes the receiver without its secrets.
func (r *Receiver) String() string {
	if r == nil {
		return "senderkeys.Receiver(nil)"
	}
	var b strings.Builder
	b.WriteString("senderkeys.Receiver{epochs:[")
	for i, e := range r.epochs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s@%d/%d", e.keyID, e.next, len(e.skipped))
	}
	b.WriteString("] keys:REDACTED}")
	return b.String()
}

// GoString is String: %#v must not print secrets either.
func (r *Receiver) GoString() string { return r.String() }

// Format prints String for every verb, also for a dereferenced Receiver (a value receiver:
// fmt would otherwise print the fields, secrets included).
func (r Receiver) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }
