package epoch

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
)

// MemberPrevDigest returns the epoch prev digest of a membership key event's prev set,
// SHA-256(u8<"chorus/v2/epoch/member-prev"> || u8 n || n × prev id), prev canonical: what
// the membership event carries (membership field 103, spec "Frontier") so that its id —
// the hash of its signed bytes — commits to the prev of its key block.
func MemberPrevDigest(prev Frontier) [IDSize]byte {
	b := make([]byte, 0, 1+len(labelMemberPrev)+1+len(prev)*IDSize)
	return sha256.Sum256(appendIDs(appendLabel(b, labelMemberPrev), prev))
}

// CheckMemberPrev checks the prev set of a membership key event (its key block's, or a
// Welcome entry's) against the epoch prev digest its membership event carries (nil: the
// event carries none). A digest that is not MemberPrevDigest(prev) is ErrMalformed; no
// digest with a non-empty prev is ErrUncommitted (the event's id, fixed before its prev
// was chosen, commits to none: review 14's cycles of prev). An empty prev (creation)
// names nothing and needs no digest.
func CheckMemberPrev(prev Frontier, digest []byte) error {
	if digest == nil {
		if len(prev) == 0 {
			return nil
		}
		return fmt.Errorf("%w: membership key event without an epoch prev digest", ErrUncommitted)
	}
	d := MemberPrevDigest(prev)
	if len(digest) != IDSize || subtle.ConstantTimeCompare(d[:], digest) != 1 {
		return fmt.Errorf("%w: key block prev differs from its membership event's epoch prev digest", ErrMalformed)
	}
	return nil
}

// Committed checks that block b's key event id commits to b's prev (spec "Frontier"): a
// rekey of version 4 or 5 does (RekeyID, RekeyHeadsID; ParseKeyBlock checked it), a rekey
// of version 3 or 2 does not (LegacyRekeyID: ErrUncommitted), and a membership key event
// does through the epoch prev digest its membership event carries (memberDigest, nil when
// it carries none; CheckMemberPrev). The engine asks it of every key block whose event is
// not applied yet; a block of an applied event (a stored state's) is not refused for it.
func (b *KeyBlock) Committed(memberDigest []byte) error {
	switch {
	case b.Kind == KindMembership:
		return CheckMemberPrev(b.Prev, memberDigest)
	case b.LegacyHints:
		return fmt.Errorf("%w: rekey of a version %d key block (legacy id)", ErrUncommitted, Version)
	case b.LegacyID:
		return fmt.Errorf("%w: rekey of a version %d key block (legacy id)", ErrUncommitted, LegacyIDVersion)
	}
	return nil
}
