package devicelist

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"slices"
)

// Installation is what a peer holds of one installation: the account it is bound to
// (AccountID form), its keys, whether it is revoked, and its binding signature (nil if
// the peer holds none).
type Installation struct {
	ID      [16]byte
	Account string
	DH      [32]byte
	Signing [33]byte
	Revoked bool
	Binding []byte
}

// Delta is what a merge changed: installations added and revoked, and installations
// already bound and active whose binding signature was learnt (Bound).
type Delta struct {
	Added, Revoked, Bound [][16]byte
}

// Empty reports whether the merge added and revoked nothing.
func (d Delta) Empty() bool { return len(d.Added) == 0 && len(d.Revoked) == 0 }

// Merge merges a verified device list into what a peer holds. known holds the
// installations the peer knows among those the list names (of any account: keyed by
// installation id); Merge does not modify it.
//
// The device list of an account is the union of every validly signed list of it seen
// (a 2P-set): an installation listed once stays listed, one revoked in any list stays
// revoked, whatever the clocks and the order of arrival.
//
// An installation is bound to an account only by its own binding signature (spec:
// "Identities", installation binding): an entry for an installation not in known is
// ignored unless the list carries its valid binding to the list's account. An entry for
// an installation already bound to the account needs none (its revocation is the
// account's word). An entry for an installation bound to another account, or with other
// keys, is ignored: keys never change. This is the one place where installations are
// bound to accounts.
//
// merged holds the installations of the list's account after the merge, one for every
// entry not ignored, in list order: the known record with the merged revocation and, if
// it had none, the list's binding; or a new record. d says what changed.
func Merge(known map[[16]byte]Installation, v *Verified) (merged []Installation, d Delta) {
	for _, e := range v.List.Entries {
		prev, ok := known[e.ID]
		if ok && (prev.Account != v.Account || prev.DH != e.DH || prev.Signing != e.Signing) {
			continue // an id bound to another account, or other keys
		}
		if !ok && !v.Bound[e.ID] {
			continue // not bound to this account by the installation itself
		}
		in := Installation{ID: e.ID, Account: v.Account, DH: e.DH, Signing: e.Signing}
		if ok {
			in = prev
		}
		revoked := e.Revoked || (ok && prev.Revoked)
		switch {
		case !ok && !revoked:
			d.Added = append(d.Added, e.ID)
		case ok && !prev.Revoked && revoked:
			d.Revoked = append(d.Revoked, e.ID)
		}
		in.Revoked = revoked
		if v.Bound[e.ID] && len(in.Binding) == 0 {
			in.Binding = slices.Clone(e.Binding)
			if ok && !revoked {
				d.Bound = append(d.Bound, e.ID)
			}
		}
		merged = append(merged, in)
	}
	return merged, d
}

// Compare is the one order on two device lists of one account: the higher clock is
// greater; at equal clocks (two holders signed concurrently), the list whose signed part
// has the larger SHA-256 is greater. It returns 0 only for the same signed list: the same
// list is not a tie, whatever bindings and bundles each copy carries.
//
// The engine keeps and hands on the greatest list it has seen of an account. A copy of
// the list it keeps (Compare 0) replaces the kept copy only where the copy's bundles
// matter: a contact's list (fresher bundles: this is how a bundle refresh travels); its
// own account's list, stored without bundles, stays as it is (spec: protocol,
// "Device lists").
func Compare(a, b *List) int {
	if c := cmp.Compare(a.Clock, b.Clock); c != 0 {
		return c
	}
	sa, _ := a.SignedPart() // fails only past the u16 prefix, which MaxEntries excludes
	sb, _ := b.SignedPart()
	if bytes.Equal(sa, sb) {
		return 0
	}
	da, db := sha256.Sum256(sa), sha256.Sum256(sb)
	return bytes.Compare(da[:], db[:])
}
