// Key schedule v2, key confirmation (issue 13 security; spec "Rotation block" › "Key
// confirmation"): which seeds a member takes, and what it does with one it refuses.

package protocol

import (
	"errors"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// errSeedRefused: the seed in our slot is not the one the key block's confirmation commits
// to (its author gave us a seed the other recipients do not share).
var errSeedRefused = errors.New("protocol: seed fails the key block's confirmation")

// confirmSeed is the check every seed passes before it enters a member's schedule: it must
// be the seed the key block of its event commits to in front of every recipient. A member
// takes seeds only from its slots of key blocks; a member's Welcome join carries no
// confirmation anyone else saw (refuseJoinValues), and a newcomer's first epoch is its
// inviter's word (spec: "Known limits").
func confirmSeed(group GroupID, kb *epoch.KeyBlock, seed *epoch.Seed) error {
	if !kb.Confirms(epoch.ID(group), seed) {
		return errSeedRefused
	}
	return nil
}

// refuseSeed records a seed we refused in a key block of group from author: the event
// stays applied without it (every member applies it) and we heal at once with a rekey of
// our own (healRefused). The author proved it misbehaves (its slot opened on our session
// with it); reported, not acted on: removing a member is its admins' call.
func (t *txn) refuseSeed(group GroupID, event epoch.ID, author *storage.InstallationRecord, where string) {
	t.c.log.Warn("key confirmation failed: seed refused; rekeying", "group", group.String()[:8], "event", shortID(event),
		"author", author.ID.String(), "account", author.Account, "in", where)
	t.refuse(group)
}

// refuse has the group's heal rekey at once once the transaction's changes are applied.
func (t *txn) refuse(group GroupID) {
	if !slices.Contains(t.refused, group) {
		t.refused = append(t.refused, group)
	}
	t.healLater(group)
}

// refuseJoinValues reports whether a join a member's Welcome (from installation inst)
// brings, its events applied to s, leaves frontier events without a seed or contribution
// that the join offered: a member takes neither from a Welcome (no block every member saw
// confirms them: a made-up rekey of the sender's, never published, moved its recipient to
// an epoch of its own — TestKeyConfirmWelcome). We then heal with our own rekey, which
// supersedes the join's events for everyone.
func (t *txn) refuseJoinValues(group GroupID, s *epoch.Schedule, j epoch.Join, inst InstallationID) bool {
	missing := s.Missing()
	for _, e := range j {
		if slices.Contains(missing, e.Event) {
			t.c.log.Debug("member welcome: join values not taken; rekeying", "group", group.String()[:8],
				"event", shortID(e.Event), "from", inst.String()[:8])
			return true
		}
	}
	return false
}

// healRefused rekeys a group where we refused a seed (or a join's values), whoever is
// designated: the missing-seed heal (unhealed), at once, since its author will not send
// us a seed we can take. The rekey is sealed under our newest live epoch.
func (t *txn) healRefused(g *storage.GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta) error {
	outs, err := t.rekeyV2(g, gc, s, m, nil, nil)
	if err != nil {
		return err
	}
	t.sends = append(t.sends, outs...)
	return nil
}

// rekeyPrev returns the prev set of a rekey we author in group: our frontier, and, after
// we refused values in this transaction, also the prev sets of the frontier events we lack
// seeds for (unless that makes more than MaxFrontier ids). A member may not know an event
// whose values we refused (a made-up rekey in a member's Welcome was never published): our
// rekey names what that event superseded, so that every member leaves it behind as we do
// (otherwise they kept the events it superseded for us beside our rekey, on a frontier of
// their own).
func (t *txn) rekeyPrev(group GroupID, s *epoch.Schedule) epoch.Frontier {
	f := s.Frontier()
	if !slices.Contains(t.refused, group) {
		return f
	}
	ids := slices.Clone(f)
	for _, id := range s.Missing() {
		ids = append(ids, s.Prev(id)...)
	}
	if p, err := epoch.NewFrontier(ids...); err == nil {
		return p
	}
	return f
}
