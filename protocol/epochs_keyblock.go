// Key schedule v2, receiving a key block: its key event applied, our seed taken from our
// slot (the session with the block's author).

package protocol

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/x3dh"
)

// processKeyBlock applies the key event of a block (its membership event, if any,
// applied already) and takes our seed from our slot: at most one slot is tried, the one
// with our hint, on the session with the block's author.
func (t *txn) processKeyBlock(g *storage.GroupRecord, gc *groupCache, kb *epoch.KeyBlock) error {
	c := t.c
	author := InstallationID(kb.Author)
	in, err := t.installationView(author) // shared: not modified here nor by openSeedSlot
	if err != nil {
		return err
	}
	st := t.stateOf(gc)
	if in.Revoked {
		// Not recorded (review): a revoked installation could publish rekeys at will, and
		// recording each refused id would spend the group's unseen-prev budget for good.
		// A member that applied one before it learnt of the revocation names it as prev;
		// we then meet it as an unknown prev, counted once.
		return ErrNotMember
	}
	// Authority (spec "Authority"): a rekey by an account no member now is valid only if
	// its departure is not in the rekey's causal membership past (departedIn, below: it
	// was authored concurrently with it, and every member applies it, whatever it learnt
	// first). A membership key event is judged by the membership rules (below).
	member := st.IsMember(in.Account) // st does not change below (the event was applied before)
	departedAuthor := false           // a membership key event applied, its author gone since (refusedDeparted)
	if !member && kb.Kind == epoch.KindMembership && t.departedAfter(gc, st, kb, in) {
		// A committed event applied, its author departed causally after it: it was a
		// member when it made it; the block is applied as in the block-first order.
		member = true
	}
	if !member && kb.Kind == epoch.KindMembership {
		if !refusedDeparted(st, kb, in) {
			return t.refuseOverridden(g, gc, kb, in)
		}
		departedAuthor = true
	}
	if !member && !departedAuthor && (kb.Kind != epoch.KindRekey || !st.WasEverMember(in.Account)) {
		return ErrNotMember
	}
	var departs bool
	var removed []string // accounts a removal excludes (its author sends them no slot)
	s, m, loadErr := t.loadV2(g)
	var s0 epoch.Frontier // the frontier before this event
	if loadErr == nil {
		s0 = s.Frontier()
	}
	var memberEv *membership.Event // a membership key event's event
	overridden := false            // its event kept, never applied (rule 3: kept, not applied)
	if kb.Kind == epoch.KindMembership {
		ev, ok := appliedEvent(t.stateOf(gc), kb.Event)
		if !ok {
			if ev, ok = overriddenEvent(t.stateOf(gc), kb.Event); !ok {
				return errPending
			}
			overridden = true
		}
		if ev.From != in.Account {
			return errForged
		}
		if !prevAgrees(t.eventLookup(gc), ev, kb.Prev, s0) {
			// The block's prev disagrees with its event's causal past: ignored, with the
			// event that rides in the same publish (TestSecKeyEventPrevChecked).
			return errForged
		}
		departs = ev.Type == membership.MemberRemoved
		if departs {
			removed = ev.Members.Strings()
		}
		memberEv = &ev
	}
	if loadErr != nil {
		return loadErr
	}
	// Only a key event whose id commits to its prev is applied, so that no cycle of prev
	// can be built (spec "Frontier"); every path of a key block — live, Sync, history,
	// pending retries — comes here. A block whose prev is not the one its membership
	// event's digest commits to is forged (its publish refused, the event with it); an
	// uncommitted event (a legacy rekey, a membership key event without a digest) is
	// refused for good unless applied before (a stored state's: its blocks still bring
	// seeds and parts). A member's Welcome entry goes through the same check
	// (memberCommitted, checkJoinPrev).
	var committed error
	if memberEv != nil {
		committed = memberCommitted(memberEv, kb.Prev)
	} else {
		// Not for a membership key event: Committed(nil) builds its "no digest" error
		// (fmt.Errorf) only for memberCommitted to replace it.
		committed = kb.Committed(nil)
	}
	if errors.Is(committed, epoch.ErrMalformed) {
		return errForged
	}
	if overridden && committed == nil {
		// Its membership event is overridden here (rule 3): its key event is never
		// applied, as an uncommitted one; refused the same way below (spec "Frontier").
		committed = fmt.Errorf("%w: membership key event overridden", epoch.ErrUncommitted)
	}
	if err := committed; err != nil {
		if !s.Applied(kb.Event) {
			if memberEv == nil || !member && !departedAuthor {
				return err
			}
			// Its membership change applied: the members that applied the event (an
			// older version's, its newcomers) are on an epoch of their own until a key
			// event names it; the epoch is unhealed until then (spec "Frontier",
			// Versions; review 20, TestReview20OldAdminAddNewcomer). We keep its seed
			// for opening only, to read what they seal meanwhile — their next
			// membership events with it (keepRefused; review 22).
			// Named first by an applied key event (a heal met before this block), the
			// id is held on its namer's word: released, known as refused by us as
			// refuseNamed gives in the other order (releaseRefused).
			noted := m.noteRefused(s, kb.Event)
			released := releaseRefused(s, kb.Event)
			kept := t.keepRefused(g, s, m, kb, in)
			if !noted && !released && !kept {
				return err
			}
			if err := t.storeSchedule(g, gc, s, m); err != nil {
				return err
			}
			if err := t.PutGroupState(g); err != nil {
				return err
			}
			if noted {
				t.healLater(g.ID)
			}
			c.log.Debug("uncommitted key event refused", "group", g.ID.String()[:8], "event", shortID(kb.Event),
				"author", author.String()[:8], "refused", len(m.Refused), "seed kept", kept, "author departed", departedAuthor)
			return nil
		}
	}
	if departedAuthor {
		return ErrNotMember // a committed (or applied) event of an author no member: as before
	}
	if !member {
		if departed, err := t.departedIn(gc, st, s, kb, in.Account, nil); err != nil {
			t.claim = append([]byte("inst"), kb.Author[:]...)
			return err // errPending: a head we do not hold
		} else if departed {
			return ErrNotMember // not recorded, as a revoked installation's
		}
	}
	retracted, err := t.retractDeparted(gc, st, s, m, kb)
	if err != nil {
		return err
	}
	m.refuseNamed(s, kb.Prev) // our refused events it names are ours to know, not held on its word
	fresh, seen := false, false
	switch err := s.ApplyKnown(epoch.Event{ID: kb.Event, Prev: kb.Prev, Rekey: kb.Origin()}, keyAuthor(in.Account)); {
	case err == nil:
		fresh = true
	case errors.Is(err, epoch.ErrDuplicate):
		if seen, err = t.seenWelcomed(s, kb, keyAuthor(in.Account)); err != nil { // merged from a Welcome?
			return err
		}
	case errors.Is(err, epoch.ErrFrontierFull):
		return errPending
	case errors.Is(err, epoch.ErrUnknownPrev):
		// Its prev names a key event we have not applied: it waits for it, among its
		// author's pending envelopes (spec "Authority": prev ids only their author vouches
		// for are never remembered; TestSecRekeyUnknownPrev).
		t.claim = append([]byte("inst"), kb.Author[:]...)
		return errPending
	default:
		return err
	}
	departed := t.departing != nil // the departure of this publish's removal (departV2)
	if departed {
		if err := t.noteDeparture(gc, s0, m, t.departing); err != nil {
			return err
		}
		if err := t.departMissing(s, m, t.departing); err != nil {
			return err
		}
	}
	// A block applied now, or first seen of an event applied from a member's Welcome (held on
	// its sender's word until now: seenWelcomed): its coverage is the block's, recorded
	// once. An event applied from a Welcome had none (the entry carries no slots), so a
	// departed installation its block sent no seed to stayed uncovered and the frontier
	// counted as unhealed — one extra rekey at the next send (fix30,
	// TestReview25CommittedDepartedWelcome: the heal H's Welcome entry, its block opened
	// with the kept seed of M).
	// The epoch kb was sealed under when not its prev's (EID derived once: coverage.Outer,
	// lackedPrevSeed, notePart).
	other := ""
	if member && (fresh || seen || kb.Parts > 1) {
		other = sealedOther(s.Group(), kb.Prev, t.blockOuter)
	}
	if fresh || seen {
		var hints hintList // kb's slot hints as a sorted set (blockHintList), made once
		var added []string
		if kb.Kind == epoch.KindMembership {
			if ev, ok := appliedEvent(t.stateOf(gc), kb.Event); ok && ev.Type == membership.MembersAdded {
				added = ev.Members.Strings()
			}
		}
		if !member {
			m.Covered[kb.Event.String()] = &coverage{Author: author, Departed: true}
		} else if kb.Parts == 1 {
			hints = blockHintList(kb)
			m.Covered[kb.Event.String()] = &coverage{Author: author, Adds: added, Hints: hints, HintsV3: !kb.LegacyHints,
				Outer: other}
		}
		if departs && fresh {
			m.Departs = append(m.Departs, kb.Event.String())
		}
		if member && fresh && other != "" {
			m.lackedPrevSeed(s, kb, author, t.blockOuter)
		}
		if kb.Parts == 1 {
			// A departed installation this event sent no seed to is excluded from now on —
			// when the event is in the frontier: one applied superseded (a departed
			// author's rekey named it before it came, and was not retracted) is not in
			// the epoch, and the installation may compute the epoch still (review 12,
			// TestReview12RetractChainedRekey, TestReview12RetractedRekeyDescendant: the
			// heal, superseded, took x out of Uncovered and late sent under an epoch x
			// composes).
			// Looked up in the block's sorted hint set: kb.Find walks the encoded slots, all
			// of them for a hint the block lacks — the removed installation's, the one this
			// usually drops (issue 13: a walk of a 1000-slot frame per removal received).
			if len(m.Uncovered) > 0 && s.InFrontier(kb.Event) {
				h := kb.Hinter()
				if hints == nil {
					hints = blockHintList(kb)
				}
				m.Uncovered = slices.DeleteFunc(m.Uncovered, func(u InstallationID) bool {
					return !hints.has(h.Hint(epoch.Installation(u)))
				})
			}
		} else if len(removed) > 0 {
			// A removal in several parts: its author sent the removed accounts no slot
			// in any part, so they are excluded too (TestRemovalInPartsNoSpeakerRekey:
			// otherwise the group paid a second rekey per large removal).
			m.Uncovered = slices.DeleteFunc(m.Uncovered, func(u InstallationID) bool {
				in, err := t.Installation(u)
				return err == nil && slices.Contains(removed, in.Account)
			})
		}
	}
	noted := false
	if kb.Parts > 1 && member && s.InFrontier(kb.Event) {
		var added []string
		if kb.Kind == epoch.KindMembership {
			if ev, ok := appliedEvent(t.stateOf(gc), kb.Event); ok && ev.Type == membership.MembersAdded {
				added = ev.Members.Strings()
			}
		}
		noted = m.notePart(kb, author, added, other)
	}
	seeded := false
	if s.InFrontier(kb.Event) && !s.HasSeed(kb.Event) {
		h := kb.Hinter()
		if sl, ok := kb.Find(h.Hint(epoch.Installation(c.acct.inst))); ok {
			seed, err := t.openSeedSlot(g, kb, sl, in)
			if errors.Is(err, errSeedRefused) {
				t.refuseSeed(g.ID, kb.Event, in)
			} else if err != nil {
				c.log.Debug("key block: our slot does not open", "err", err)
			} else if err := s.SetSeed(kb.Event, &seed); err != nil {
				c.log.Debug("key block: seed refused", "err", err)
			} else {
				seeded = true
			}
		}
	}
	// Applied superseded (a key event naming it met first): its seed kept for opening what
	// its successors sealed under it (keepSuperseded; fix30).
	keptSup := (fresh || seen) && t.keepSuperseded(g, s, m, kb, in)
	dropped := t.checkEquivocation(g, gc, s, kb, in)
	if !fresh && !seeded && !noted && !dropped && !departed && !seen && !retracted && !keptSup {
		return nil // an applied event's block (another part, a repeat) without our seed: nothing changed
	}
	if err := t.storeSchedule(g, gc, s, m); err != nil {
		return err
	}
	if err := t.PutGroupState(g); err != nil {
		return err
	}
	t.departing = nil // recorded
	c.log.Debug("key block applied", "group", g.ID.String()[:8], "event", shortID(kb.Event), "kind", kb.Kind,
		"author", author.String()[:8], "prev", shortIDs(kb.Prev), "fresh", fresh, "seed", s.HasSeed(kb.Event),
		"frontier", shortIDs(s.Frontier()), "missing", len(s.Missing()))
	t.healLater(g.ID)
	return nil
}

// shortID and shortIDs abbreviate epoch ids in debug logs.
func shortID(id epoch.ID) string { return hex.EncodeToString(id[:4]) }

func shortIDs(ids []epoch.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = shortID(id)
	}
	return out
}

// openSeedSlot decrypts our slot of a key block on the session with its author (starting
// it for an initial slot). A compact initial slot's X3DH header is completed with the
// author's identity as we know it (spec: "Rotation block"), then goes through the same
// checks as a full header.
func (t *txn) openSeedSlot(g *storage.GroupRecord, kb *epoch.KeyBlock, sl *epoch.Slot, author *storage.InstallationRecord) (epoch.Seed, error) {
	c := t.c
	c.slotTries++
	var s *sess
	var otk *uint32
	var err error
	switch sl.Kind {
	case epoch.SlotInitial:
		if s, _, otk, err = t.respond(sl.X3DHHeader, true); err != nil {
			return epoch.Seed{}, err
		}
	case epoch.SlotInitialCompact:
		ident := x3dh.PublicIdentity{ID: x3dh.InstallationID(author.ID), DH: author.DH, Signing: author.Signing}
		hdr, err := x3dh.ParseCompactHeader(sl.X3DHHeader, &ident)
		if err != nil {
			return epoch.Seed{}, errBadInitial
		}
		if s, _, otk, err = t.respondHeader(hdr, true); err != nil {
			return epoch.Seed{}, err
		}
	default:
		list, err := t.SessionsWith(author.ID)
		if err != nil {
			return epoch.Seed{}, err
		}
		var opened []byte
		for i := range list { // at most three sessions with one installation
			cand, err := t.loadSession(&list[i])
			if err != nil {
				continue
			}
			ctx := kb.Context(epoch.ID(g.ID))
			if pt, err := t.decryptOn(cand, sl.Message, adSlotV2, ctx[:]); err == nil {
				s, opened = cand, pt
				break
			}
		}
		if s == nil {
			return epoch.Seed{}, errNotForUs
		}
		return t.finishSeedSlot(g, kb, s, nil, author, opened)
	}
	if s.rec.Remote != author.ID {
		return epoch.Seed{}, errNotForUs
	}
	ctx := kb.Context(epoch.ID(g.ID))
	pt, err := t.decryptOn(s, sl.Message, adSlotV2, ctx[:])
	if err != nil {
		return epoch.Seed{}, err
	}
	return t.finishSeedSlot(g, kb, s, otk, author, pt)
}

// finishSeedSlot takes the seed of an opened slot if it passes the block's key
// confirmation (errSeedRefused otherwise, with nothing stored: the session is not
// advanced) and stores the session.
func (t *txn) finishSeedSlot(g *storage.GroupRecord, kb *epoch.KeyBlock, s *sess, otk *uint32, author *storage.InstallationRecord, pt []byte) (epoch.Seed, error) {
	p, err := epoch.ParseSlotPlaintext(pt)
	if err != nil || p.Kind != epoch.SlotSeed {
		return epoch.Seed{}, fmt.Errorf("protocol: slot plaintext: %w", err)
	}
	if err := confirmSeed(g.ID, kb, &p.Seed); err != nil {
		return epoch.Seed{}, err
	}
	if s.rec.ID == 0 {
		s.rec.RemoteAccount = author.Account
		if err := t.adoptResponder(s, otk); err != nil {
			return epoch.Seed{}, err
		}
	} else if err := t.saveSession(s, false); err != nil {
		return epoch.Seed{}, err
	}
	return p.Seed, nil
}
