// Key schedule v2, creation: O(N) creation (creation Welcome, creation and device-list messages) and joining from it.

package protocol

import (
	"errors"
	"strings"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// fullCreationMax is the most installations (ours included) a creation welcomes with full
// Welcomes (spec: "Welcome v2"): up to it the quadratic cost is small (≤ 64 cards in all)
// and joining needs no store; above it the creation is O(N).
const fullCreationMax = 8

// creationFrameOverhead is what a v2 frame adds to a membership body: outer layer, frame
// header, message header, tag and signature, group plaintext with its causal history.
const creationFrameOverhead = 1024

// creationBodies encodes the creation's membership messages, each body at most budget
// bytes: the first carries the events (and as many cards as fit), the next ones an empty
// event list and more cards. Every card is sent once.
func creationBodies(st *membership.State, cards [][]byte, budget int) ([][]byte, error) {
	update, err := (&membership.Message{ChatID: st.ChatID, Events: st.Log()}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	empty, err := (&membership.Message{ChatID: st.ChatID}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	cur := wire.Membership{Update: update}
	n := 4 + len(update) + 2
	if n > budget {
		return nil, errors.New("protocol: group creation events too large for one publish")
	}
	var out [][]byte
	flush := func() error {
		b, err := cur.Marshal()
		if err != nil {
			return err
		}
		out = append(out, b)
		cur = wire.Membership{Update: empty}
		n = 4 + len(empty) + 2
		return nil
	}
	for _, card := range cards {
		if n+2+len(card) > budget || len(cur.DeviceLists) == wire.MaxWelcomeItems {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		cur.DeviceLists = append(cur.DeviceLists, card)
		n += 2 + len(card)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// installationsOfAccounts lists the installations we know of accounts.
func (t *txn) installationsOfAccounts(accounts []string) ([]*storage.InstallationRecord, error) {
	var ins []*storage.InstallationRecord
	for _, m := range accounts {
		list, err := t.InstallationsOf(m)
		if err != nil {
			return nil, err
		}
		for i := range list {
			ins = append(ins, &list[i])
		}
	}
	return ins, nil
}

// createdBy reports whether account created the chat chatID (Chorus chat ids end with
// their creator's key string: membership, "Wire").
func createdBy(chatID, account string) bool {
	return len(chatID) == 36+1+len(account) && strings.HasSuffix(chatID, "-"+account)
}

// joiningV2 reports whether gc is a v2 group joined by a creation Welcome whose events
// have not arrived yet: it opens only the creator's creation message (spec: "Welcome v2").
func joiningV2(gc *groupCache) bool { return gc.v2 && len(gc.state.Events) == 0 }

// joinCreationV2 handles a creation Welcome (a join, no log, no device lists): the group
// is stored joining, with the schedule of the join, and its topic synced from before the
// Welcome was sent; it becomes a group once the creator's membership message with the
// creation events opens (joinedV2). A creation Welcome for a group we hold adds nothing.
func (t *txn) joinCreationV2(from string, g *storage.GroupRecord, w *wire.WelcomeV2) error {
	if g != nil {
		return nil
	}
	if !createdBy(w.ChatID, from) || len(w.DeviceLists) > 0 {
		return errors.New("protocol: creation welcome not from the chat's creator")
	}
	j, err := epoch.ParseJoin(epoch.ID(w.GroupID), w.Join)
	if err != nil {
		return err
	}
	if len(j) != 1 {
		return errors.New("protocol: creation welcome with a join of several events")
	}
	s, err := epoch.NewScheduleFromJoin(epoch.ID(w.GroupID), j)
	if err != nil {
		return err
	}
	_, err = t.storeJoinedV2(w, s, nil)
	return err
}

// creationState returns the state a joining group's creation message derives, if it is
// one: a membership message whose events make us a member and apply every event of our
// join's frontier (the creation).
func (t *txn) creationState(g *storage.GroupRecord, gp *wire.GroupPlaintext) (membership.State, [][]byte, bool) {
	c := t.c
	if gp.Type != wire.ContentMembership {
		return membership.State{}, nil, false
	}
	mm, err := wire.ParseMembership(gp.Body)
	if err != nil {
		return membership.State{}, nil, false
	}
	st, _, err := membership.Update(nil, mm.Update, c.acct.id, c.now(), membership.ChorusRules())
	if err != nil || st.ChatID != g.ChatID || !st.IsMember(c.acct.id) {
		return membership.State{}, nil, false
	}
	s, err := loadSchedule(g)
	if err != nil {
		return membership.State{}, nil, false
	}
	for _, f := range s.Frontier() {
		if _, ok := appliedEvent(&st, f); !ok {
			return membership.State{}, nil, false
		}
	}
	return st, mm.DeviceLists, true
}

// joinedV2 finishes joining a group from its creation message (applied by
// acceptGroupMessage): envelopes waiting for it are retried.
func (t *txn) joinedV2(g *storage.GroupRecord, st *membership.State, creator string, lists [][]byte) error {
	t.newKeys = true
	t.emit(&GroupJoined{Group: g.ID, Name: st.Name, Inviter: creator})
	full, err := t.Group(g.ID)
	if err != nil {
		return err
	}
	return t.catchUpSiblingsLists(full, st, lists)
}

// storeMemberCards stores the device lists of a membership message with an empty event
// list (the cards of a creation, "Welcome v2"): each verified list of a current member
// other than us.
func (t *txn) storeMemberCards(gc *groupCache, lists [][]byte) error {
	now := t.c.now()
	st := t.stateOf(gc)
	for _, raw := range lists {
		v, err := verifyDeviceList(raw, now)
		if err != nil || v.Account == t.c.acct.id || !st.IsMember(v.Account) {
			continue
		}
		if err := t.storeDeviceList(v, raw, listFrom{}, now); err != nil {
			return err
		}
	}
	return nil
}
