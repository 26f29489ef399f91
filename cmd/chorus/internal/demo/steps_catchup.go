package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
)

func (s *story) catchUp(ctx context.Context) error {
	a, b, d := s.alice, s.bob, s.dave
	d.shutdown()
	s.say("Dave closes the app: his node goes offline")
	if _, err := s.send(ctx, b, "Bring the 60 m rope.", "steady", a); err != nil {
		return err
	}
	a.meter.Lose(s.topic)
	lostID, err := a.Client.Send(ctx, s.group, protocol.Text("Parking costs 5 euros, bring cash."))
	if err != nil {
		return err
	}
	s.say("%-12s » %-32s → lost: Alice's phone dropped off the network mid-send (staged)", a.name(), fmt.Sprintf("%q", "Parking costs 5 euros, bring cash."))
	forecast, err := s.send(ctx, a, "Forecast says sun all day.", "steady", b)
	if err != nil {
		return err
	}
	ok := s.wait(ctx, b, chorustest.ToldLost(s.group, a.Info, lostID))
	s.check(ok, "Bob, online, notices a message from Alice is missing", "%s", s.missingText(b, a.Info.ID))
	s.check(len(b.Events.Arrivals(lostID)) == 0, "nobody received the lost message", "")

	t0 := time.Now()
	if err := d.start(ctx, chorustest.Reopen); err != nil {
		return fmt.Errorf("reopening Dave's app: %w", err)
	}
	s.say("Dave opens the app again (a fresh node): the engine fetches the group's history from relay-1's store")
	okMsgs := s.wait(ctx, d, chorustest.Received(forecast, s.sent[len(s.sent)-2].id))
	s.check(okMsgs, "Dave caught up on what he missed", "Bob's and Alice's messages from the store after %s", round(time.Since(t0)))
	v3, legacy := d.node.StoreRequests()
	s.check(v3 > 0 && legacy == 0, "Dave's catch-up ran over store v3 (/vac/waku/store-query/3.0.0)",
		"%d store v3 requests, %d legacy store requests", v3, legacy)
	okMiss := s.wait(ctx, d, chorustest.ToldLost(s.group, a.Info, lostID))
	s.check(okMiss, "Dave is told a message from Alice is missing and cannot be recovered", "%s", s.missingText(d, a.Info.ID))
	// Missing-message reports (spec R1) name only messages a member was meant to read:
	// messages sent before Dave joined, named in the causal history of the first ones he
	// received, are not missing for him (even after their sender left the group).
	pre := s.preJoinReports(d, s.daveJoined)
	detail := ""
	if len(pre) > 0 {
		detail = "engine issue: reported " + strings.Join(pre, ", ")
	}
	s.check(len(pre) == 0, "Dave is not told that messages sent before he joined are missing", "%s", detail)
	s.sent[len(s.sent)-2].to = append(s.sent[len(s.sent)-2].to, d) // Bob's rope message
	s.sent[len(s.sent)-1].to = append(s.sent[len(s.sent)-1].to, d) // Alice's forecast
	if _, err := s.send(ctx, d, "Back online, all caught up.", "steady", a, b); err != nil {
		return err
	}
	return nil
}

// textCount counts the text messages of group on d.
func textCount(ctx context.Context, d *device, g protocol.GroupID) int {
	ms, _ := d.Client.Messages(ctx, g, protocol.MessageFilter{})
	n := 0
	for _, m := range ms {
		if m.Content.Type == protocol.ContentText {
			n++
		}
	}
	return n
}

// label names a recipient device: the person, and the device for people with several.
func (s *story) label(d *device) string {
	n := 0
	for _, o := range s.devices() {
		if o.person == d.person {
			n++
		}
	}
	if n > 1 {
		return d.name()
	}
	return d.person
}

// missingText describes what d was told is missing from sender, naming the sender.
func (s *story) missingText(d *device, sender string) string {
	var out []string
	for _, m := range d.Events.MissingReports() {
		if m.Group != s.group || m.SenderAccount != sender {
			continue
		}
		who := s.personOf(m.SenderAccount)
		if m.ByHistory {
			out = append(out, fmt.Sprintf("message %x… from %s, named in a later message's history", m.MessageIDPrefix[:4], who))
		} else {
			out = append(out, fmt.Sprintf("%d message(s) from %s, sender key %x, iteration %d", m.To-m.From, who, m.KeyID[:4], m.From))
		}
	}
	if len(out) == 0 {
		return "nothing reported"
	}
	return "engine says missing: " + strings.Join(out, "; ")
}

// personOf names an account by its person.
func (s *story) personOf(account string) string {
	for _, p := range s.devices() {
		if p.Info.ID == account {
			return p.person
		}
	}
	return chorustest.Short(account)
}

// preJoinReports returns the reports d got about messages sent before it joined
// (named in the causal history of later messages): d was never meant to read those.
func (s *story) preJoinReports(d *device, joinedAt int) []string {
	var out []string
	for _, m := range d.Events.MissingReports() {
		if m.Group != s.group || !m.ByHistory {
			continue
		}
		for _, sm := range s.sent[:joinedAt] {
			if [16]byte(sm.id[:16]) == m.MessageIDPrefix {
				out = append(out, fmt.Sprintf("%s's message %x…", sm.from.name(), m.MessageIDPrefix[:4]))
			}
		}
	}
	return out
}

func (s *story) exactlyOnce(context.Context) error {
	time.Sleep(200 * time.Millisecond) // late duplicates would show up now
	bad := 0
	total := 0
	for _, m := range s.sent {
		for _, r := range m.to {
			total++
			if n := len(r.Events.Arrivals(m.id)); n != 1 {
				bad++
				s.say("%s got %s's message %s %d times", r.name(), m.from.name(), chorustest.Short(m.id.String()), n)
			}
		}
	}
	s.check(bad == 0, "no duplicates, no losses", "%d deliveries checked", total)
	return nil
}
