package membership

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// StatusRules returns the rule set that reproduces status-go (commit c72f491, files
// protocol/v1/membership_update_message.go, protocol/messenger_handler.go,
// protocol/message_validator.go) decision for decision, including its quirks:
//
//   - events are sorted by clock only with sort.Slice (ties keep no defined order beyond
//     what Go's pdqsort does, which this implementation reproduces by calling it the same
//     way), then validated in that order, and one invalid event rejects everything;
//   - CHAT_CREATED is valid iff there are no members and no admins yet (so a group that
//     emptied itself can be created again) and its image is ignored;
//   - NAME/COLOR/IMAGE_CHANGED (non-empty value) and MEMBERS_ADDED are allowed to admins
//     and to members; MEMBER_JOINED needs a member and changes nothing;
//   - MEMBER_REMOVED: exactly one target, which is the author (no membership needed) or a
//     non-admin removed by an admin; it also drops the target's admin right;
//   - ADMINS_ADDED: an admin author and a target list that intersects the members (every
//     target becomes admin, members or not); ADMIN_REMOVED: exactly one target, the author,
//     who is an admin;
//   - the chat id must end with the creator's key string and differ from it.
func StatusRules() Rules { return statusRules{} }

type statusRules struct{}

func (statusRules) Name() string      { return "status" }
func (statusRules) strictParse() bool { return true }

// derive is status-go's NewGroupWithEvents(chatID, events) followed by reading the group.
func (statusRules) derive(chatID string, events []Event) (State, error) {
	evs := slices.Clone(events)
	var v verifier
	for i := range evs {
		ev := &evs[i]
		signed := ev.ChatID
		if signed == "" {
			signed = chatID
		}
		from, _, err := v.author(signed, ev)
		if err != nil {
			return State{}, reject(StageEventParse, ev.wire(), fmt.Errorf("failed to extract signature: %w", err))
		}
		if ev.From != "" && ev.From != from {
			return State{}, reject(StageEventParse, ev.wire(), errors.New("author does not match signature"))
		}
		ev.From = from
	}
	return statusGroup(chatID, evs)
}

// statusGroup runs status-go's Group.init on evs (sorted in place) and returns the state.
func statusGroup(chatID string, evs []Event) (State, error) {
	sort.Slice(evs, func(i, j int) bool { return evs[i].Clock < evs[j].Clock })
	var (
		admins  = newOrderedSet()
		members = newOrderedSet()
		g       = State{ChatID: chatID}
		seenID  string
	)
	for i := range evs {
		ev := &evs[i]
		if seenID == "" {
			seenID = ev.ChatID
		} else if ev.ChatID != seenID {
			return State{}, reject(StageGroupInit, nil, errors.New("updates contain different chat IDs"))
		}
		if !statusValid(admins, members, ev) {
			return State{}, reject(StageGroupInit, ev.wire(), fmt.Errorf("invalid event %s from %s", eventPlaceholder, ev.From))
		}
		statusApply(&g, admins, members, ev)
	}
	creator := ""
	if len(evs) > 0 && evs[0].Type == ChatCreated {
		creator = evs[0].From
	}
	if creator == "" || !strings.HasSuffix(chatID, creator) || chatID == creator {
		return State{}, reject(StageGroupInit, nil, fmt.Errorf("invalid chat ID: %s", chatID))
	}
	if seenID != chatID {
		return State{}, reject(StageGroupInit, nil, fmt.Errorf("expected chat ID equal %s, got %s", chatID, seenID))
	}
	g.Creator = creator
	g.Members = membersOwn(members.list())
	g.Admins = hexesOf(admins.items)
	g.LastClock = evs[len(evs)-1].Clock
	g.Events = evs
	return g, nil
}

// eventPlaceholder stands for status-go's %#+v dump of the invalid event in error texts.
const eventPlaceholder = "<event-id>"

// statusValid is status-go's Group.validateEvent.
func statusValid(admins, members *orderedSet, ev *Event) bool {
	if ev.From == "" {
		return false
	}
	switch ev.Type {
	case ChatCreated:
		return admins.empty() && members.empty()
	case NameChanged:
		return (admins.has(ev.from) || members.has(ev.from)) && len(ev.Name) > 0
	case ColorChanged:
		return (admins.has(ev.from) || members.has(ev.from)) && len(ev.Color) > 0
	case ImageChanged:
		return (admins.has(ev.from) || members.has(ev.from)) && len(ev.Image) > 0
	case MembersAdded:
		return admins.has(ev.from) || members.has(ev.from)
	case MemberJoined:
		return members.has(ev.from)
	case MemberRemoved:
		return ev.Members.Len() == 1 && (ev.from == ev.Members.Key(0) || (admins.has(ev.from) && !admins.has(ev.Members.Key(0))))
	case AdminsAdded:
		if !admins.has(ev.from) {
			return false
		}
		for _, m := range members.items { // status-go's stringSliceSubset: an intersection test
			if ev.Members.indexKey(m) >= 0 {
				return true
			}
		}
		return false
	case AdminRemoved:
		return ev.Members.Len() == 1 && admins.has(ev.from) && ev.from == ev.Members.Key(0)
	}
	return false
}

// statusApply is status-go's Group.processEvent.
func statusApply(g *State, admins, members *orderedSet, ev *Event) {
	switch ev.Type {
	case ChatCreated:
		g.Name = ev.Name
		g.Color = ev.Color
		members.add(ev.from)
		admins.add(ev.from)
	case NameChanged:
		g.Name = ev.Name
	case ColorChanged:
		g.Color = ev.Color
	case ImageChanged:
		g.Image = ev.Image
	case AdminsAdded:
		admins.add(ev.Members.keyList()...)
	case AdminRemoved:
		admins.remove(ev.Members.Key(0))
	case MembersAdded:
		members.add(ev.Members.keyList()...)
	case MemberRemoved:
		admins.remove(ev.Members.Key(0))
		members.remove(ev.Members.Key(0))
	}
}

// Handler error texts of status-go.
var (
	errNoEvents          = errors.New("can't create new group chat without events")
	errNeverMember       = errors.New("can't create a new group chat without us being a member")
	errClockZero         = errors.New("clock can't be 0")
	errClockTooHigh      = errors.New("clock value too high")
	errStoredChatMissing = errors.New("stored group has another chat id")
)

// update is the membership part of status-go's Messenger.HandleMembershipUpdate.
func (r statusRules) update(stored *State, m *Message, _ []*RejectError, self string, nowMs uint64) (State, error) {
	for i := range m.Events { // ValidateMembershipUpdateMessage, wire order
		ev := &m.Events[i]
		if ev.Clock == 0 {
			return State{}, reject(StageClock, ev.wire(), errClockZero)
		}
		if ev.Clock > nowMs && ev.Clock-nowMs > MaxClockDriftMs {
			return State{}, reject(StageClock, ev.wire(), errClockTooHigh)
		}
	}
	if stored == nil {
		if len(m.Events) == 0 {
			return State{}, reject(StageNewChat, nil, errNoEvents)
		}
		g, err := statusGroup(m.ChatID, slices.Clone(m.Events))
		if err != nil {
			return State{}, restage(err, StageNewChatGroupInit, "")
		}
		if !g.WasEverMember(self) {
			return State{}, reject(StageNewChat, nil, errNeverMember)
		}
		for _, k := range g.Members.All() { // MemberPublicKeys
			if _, err := decodeStatusKey(k); err != nil {
				return State{}, reject(StageNewChat, nil, fmt.Errorf("failed to get group members: %w", err))
			}
		}
		return g, nil
	}
	if stored.ChatID != m.ChatID {
		return State{}, reject(StageChatIDMismatch, nil, errStoredChatMissing)
	}
	existing, err := statusGroup(stored.ChatID, slices.Clone(stored.Events))
	if err != nil {
		return State{}, restage(err, StageExistingChatLoad, "failed to create a Group from Chat: ")
	}
	upd, err := statusGroup(m.ChatID, slices.Clone(m.Events))
	if err != nil {
		return State{}, restage(err, StageUpdateInit, "invalid membership update: ")
	}
	merged := statusMerge(existing.Events, upd.Events)
	g, err := statusGroup(stored.ChatID, merged)
	if err != nil {
		return State{}, restage(err, StageMergeInit, "failed to create a group with new membership updates: ")
	}
	return g, nil
}

// restage re-labels a group error with a handler stage and status-go's wrapping text.
func restage(err error, stage Stage, prefix string) error {
	var re *RejectError
	if !errors.As(err, &re) {
		return reject(stage, nil, err)
	}
	cause := re.Err
	if prefix != "" {
		cause = fmt.Errorf("%s%w", prefix, re.Err)
	}
	return reject(stage, re.Entry, cause)
}

// statusMerge is status-go's MergeMembershipUpdateEvents: src events whose signature bytes
// are not already in dest are appended, in src order.
func statusMerge(dest, src []Event) []Event {
	out := slices.Clone(dest)
	seen := make(map[string]struct{}, len(dest)+len(src))
	for i := range dest {
		seen[string(dest[i].Signature)] = struct{}{}
	}
	for i := range src {
		k := string(src[i].Signature)
		if _, ok := seen[k]; ok {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, src[i])
	}
	return out
}

// decodeStatusKey is status-go's hexToPubkey (types.DecodeHex + crypto.UnmarshalPubkey),
// with its error texts.
func decodeStatusKey(s string) ([]byte, error) {
	b, err := decodeHex(s)
	if err != nil {
		return nil, err
	}
	if _, _, ok := unmarshalPoint(b); !ok {
		return nil, errStatusInvalidPubkey
	}
	return b, nil
}

// AbridgedEvents returns status-go's Group.AbridgedEvents of a StatusRules state: the
// smallest event list status-go would send with a post (chat created; the latest name,
// color and image changes; every admin change; MEMBERS_ADDED events that still matter and
// the removals of the extra members they bring back; MEMBER_JOINED of current members),
// sorted by clock with sort.Slice.
func (s State) AbridgedEvents() []Event {
	var (
		out                   []Event
		nameFound, colorFound bool
		imageFound            bool
		removed               = make(map[string]int) // member -> index in s.Events of its latest removal
		added                 = make(map[string]bool)
		extra                 []string
		extraSeen             = make(map[string]bool)
		admins                = make(map[string]bool)
		members               = make(map[string]bool, s.Members.Len())
	)
	for _, m := range s.Members.each() {
		members[m] = true
	}
	for i := len(s.Events) - 1; i >= 0; i-- {
		ev := s.Events[i]
		switch ev.Type {
		case ChatCreated:
			out = append(out, ev)
		case NameChanged:
			if !nameFound {
				out = append(out, ev)
				nameFound = true
			}
		case ColorChanged:
			if !colorFound {
				out = append(out, ev)
				colorFound = true
			}
		case ImageChanged:
			if !imageFound {
				out = append(out, ev)
				imageFound = true
			}
		case MembersAdded:
			keep := false
			for _, m := range ev.Members.each() {
				if admins[m] || (members[m] && !added[m]) {
					added[m] = true
					keep = true
				}
			}
			if keep {
				for _, m := range ev.Members.each() {
					if !members[m] && !admins[m] && !extraSeen[m] {
						extraSeen[m] = true
						extra = append(extra, m)
					}
				}
				out = append(out, ev)
			}
		case AdminRemoved:
			out = append(out, ev)
		case AdminsAdded:
			if ev.Members.Len() > 0 {
				admins[ev.Members.Key(0)] = true
			}
			out = append(out, ev)
		case MemberRemoved:
			if ev.Members.Len() > 0 {
				t := ev.Members.Key(0)
				if j, ok := removed[t]; !ok || s.Events[j].Clock < ev.Clock {
					removed[t] = i
				}
			}
		case MemberJoined:
			if members[ev.from] {
				out = append(out, ev)
			}
		}
	}
	for _, m := range extra {
		if j, ok := removed[m]; ok {
			out = append(out, s.Events[j])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Clock < out[j].Clock })
	return out
}
