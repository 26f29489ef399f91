// Key schedule v2, key confirmation (issue 13 security; spec "Rotation block" › "Key
// confirmation"): which seeds a member takes, and what it does with one it refuses.

package protocol

import (
	"errors"
	"fmt"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// errSeedRefused: the seed in our slot is not the one the key block's confirmation commits
// to (its author gave us a seed the other recipients do not share).
var errSeedRefused = errors.New("protocol: seed fails the key block's confirmation")

// confirmSeed is the check a seed from a key block slot passes before it enters our
// schedule: it must be the seed the block commits to in front of every recipient. A
// Welcome's join carries no confirmation every member saw: a newcomer's first epoch is its
// inviter's word, and a member's Welcome is not checked either (spec: "Known limits").
func confirmSeed(group GroupID, kb *epoch.KeyBlock, seed *epoch.Seed) error {
	if !kb.Confirms(epoch.ID(group), seed) {
		return errSeedRefused
	}
	return nil
}

// refusal is a seed we refused: its group and the key event's author.
type refusal struct {
	group  GroupID
	author InstallationID
	// equivocated: every member that saw both blocks refuses it (healed by the designated
	// installation only).
	equivocated bool
}

// refuseSeed records a seed we refused in a key block of group from author: the event
// stays applied without it (every member applies it) and we heal with a rekey of our own
// (healRefused, once the transaction's changes are applied). The author proved it
// misbehaves (its slot opened on our session with it, whose AD binds the confirmation);
// reported, not acted on: removing a member is its admins' call.
func (t *txn) refuseSeed(group GroupID, event epoch.ID, author *storage.InstallationRecord) {
	t.c.log.Warn("key confirmation failed: seed refused", "group", group.String()[:8], "event", shortID(event),
		"author", author.ID.String(), "account", author.Account)
	if r := (refusal{group: group, author: author.ID}); !slices.Contains(t.refused, r) {
		t.refused = append(t.refused, r)
	}
	t.healLater(group)
}

// healRefused rekeys a group where we refused a seed (the missing-seed heal, unhealed),
// at once rather than before our next send, since the author would repeat the same
// seed — but at once only for the first seed we refuse of an author, or if we are the
// designated installation leaving the authors out. Otherwise an author sealing a made-up
// seed for everyone made every member rekey at once, block after block
// (TestKeyConfirmAmplification): a repeat now costs the group one rekey, and a member it
// targets alone rekeys before its next send. The rekey is sealed under our newest live
// epoch. If the rekey fails (its key block's outbox write, a session's error) the error is
// returned: rekeyV2 stores our new key event before it queues the block, and the heal's
// transaction (its own: healAfter) must roll back rather than commit a frontier holding an
// event no one else will get — we would seal our next messages under an epoch nobody
// holds (fix 28, TestFix28RefusedSeedHealWriteFails). The failed heal backs off and is
// tried again with the refusal it was for (healFailed); the missing seed still makes us
// rekey before we send.
func (t *txn) healRefused(g *storage.GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta) error {
	var first []InstallationID
	var authors []*storage.InstallationRecord
	for _, r := range t.refused {
		if r.group != g.ID {
			continue
		}
		if !r.equivocated && !slices.Contains(gc.refusedFrom, r.author) {
			first = append(first, r.author)
		}
		if in, err := t.Installation(r.author); err == nil {
			authors = append(authors, in)
		}
	}
	if len(first) == 0 {
		d, err := t.designated(t.stateOf(gc), authors)
		if err != nil {
			return err
		}
		if !d {
			t.c.log.Warn("seed refused again from the same author: the designated installation heals, we rekey before our next send",
				"group", g.ID.String()[:8])
			return nil
		}
	}
	outs, err := t.rekeyV2(g, gc, s, m, nil, nil)
	if err != nil {
		return fmt.Errorf("protocol: rekey after a refused seed: %w", err)
	}
	t.sends = append(t.sends, outs...)
	if len(first) > 0 {
		t.onCommit(func() {
			for _, a := range first {
				if !slices.Contains(gc.refusedFrom, a) {
					gc.refusedFrom = append(gc.refusedFrom, a)
				}
			}
		})
	}
	return nil
}

// storedRefusals returns the refusals a heal derives from group g's stored state, for a
// heal check made without the receive that refused (healScan, after a start or a reload):
// each frontier event of a member whose seed we lack though its key block had a slot for
// us (its coverage's hints name our installation). We met that slot when its block came
// and it gave us no seed — refused (key confirmation), dropped (equivocation), or it did
// not open — and a repeat of the block carries the same slot, so no one will send a better
// seed: the missing-seed heal must not wait for one. The refusal the receive noted
// (t.refused) and a failed heal's backoff (healBackoff.refused) live in memory; a crash
// between the receive and its heal, or after a failed heal, lost them, and the scan's heal
// then took the missing seed for one its sender repeats and waited: we were cut off until
// our own send (review 26, TestReview26RefusedHealFailsRestart). Departed authors' events
// are not ours to heal (missingOnlyDeparted, missingAllDeparted); an event without a
// coverage entry (a join's, a block in parts not all seen) tells nothing of our slot.
func (t *txn) storedRefusals(g *storage.GroupRecord) ([]refusal, error) {
	if g.Status != GroupActive || len(g.Schedule) == 0 {
		return nil, nil
	}
	s, m, err := t.loadV2(g)
	if err != nil {
		return nil, err
	}
	var out []refusal
	for _, id := range s.Missing() {
		cv := m.Covered[id.String()]
		if cv == nil || cv.Departed || cv.Author == t.c.acct.inst || !cv.coversID(id, t.c.acct.inst, "") {
			continue
		}
		if r := (refusal{group: g.ID, author: cv.Author}); !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}
