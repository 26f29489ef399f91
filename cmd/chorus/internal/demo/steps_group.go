package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
)

func (s *story) createGroup(ctx context.Context) error {
	const name, desc = "Climbing trip", "Saturday at the gorge; bring a rope"
	inbox0, inboxB0 := s.alice.meter.PublishedExcept("")
	t0 := time.Now()
	id, err := s.alice.Client.CreateGroup(ctx, name, desc, s.bob.Info.ID, s.carol.Info.ID)
	if err != nil {
		return err
	}
	s.group = id
	info, err := s.alice.Client.Group(ctx, id)
	if err != nil {
		return err
	}
	s.topic = info.Topic
	inbox1, inboxB1 := s.alice.meter.PublishedExcept("")
	s.say("Alice creates %q — %q with Bob and Carol", name, desc)
	s.say("the group's Waku topic %s is derived from its secret: outsiders cannot tie it to anyone", info.Topic)
	for _, d := range []*device{s.bob, s.carol} {
		ok := s.wait(ctx, d, chorustest.Joined(id))
		g, gerr := d.Client.Group(ctx, id)
		ok = ok && gerr == nil && g.Name == name && g.Description == desc && len(g.Members) == 3
		s.check(ok, fmt.Sprintf("%s joined and sees the name, the description and 3 members", d.person), "after %s", round(time.Since(t0)))
	}
	okL := s.waitUntil(ctx, inGroup(s.laptop, id))
	s.check(okL, "Alice's laptop is in the group too", "")
	s.tally.row(Row{"create a group of 3 (4 devices)", fmt.Sprintf("%d publishes, %d B", inbox1-inbox0, inboxB1-inboxB0),
		"one pairwise Welcome per installation of the others and of our own"})
	return nil
}

// send sends text from d and waits until each of to received it; kind says what key
// material the message carries, for the size statistics: "steady" (none), "first" (the
// sender's key for everyone), "newcomer" (the sender's key for a new member), "rekey" (a
// new key after a removal), "revoked" (a new key after a revocation).
func (s *story) send(ctx context.Context, d *device, text, kind string, to ...*device) (protocol.MessageID, error) {
	n0, b0 := d.meter.Published(s.topic)
	t0 := time.Now()
	id, err := d.Client.Send(ctx, s.group, protocol.Text(text))
	if err != nil {
		return id, fmt.Errorf("%s sends: %w", d.name(), err)
	}
	n1, b1 := d.meter.Published(s.topic)
	pubs, bytes := n1-n0, b1-b0
	var got []string
	all := true
	for _, r := range to {
		ok := s.wait(ctx, r, chorustest.Received(id))
		if !ok {
			all = false
			got = append(got, s.label(r)+" ✗")
			continue
		}
		l := r.Events.Arrivals(id)[0].Sub(t0)
		s.tally.latency(l)
		got = append(got, fmt.Sprintf("%s %s", s.label(r), round(l)))
	}
	s.sent = append(s.sent, sent{id: id, from: d, to: to})
	s.tally.message(kind, pubs, bytes)
	note := ""
	if kind != "steady" {
		note = ", no key material" // key schedule v2: chains derive from the epoch
	}
	fmt.Fprintf(s.out, "         %-12s » %-32s → %s  [%d publish, %d B%s]\n", d.name(), fmt.Sprintf("%q", text), strings.Join(got, ", "), pubs, bytes, note)
	if pubs != 1 || !all {
		s.check(pubs == 1 && all, fmt.Sprintf("%s's message is one publish and reaches everyone", d.person), "%d publishes, delivered to all: %v", pubs, all)
	}
	return id, nil
}

func (s *story) talk(ctx context.Context) error {
	a, l, b, c := s.alice, s.laptop, s.bob, s.carol
	lines := []struct {
		from *device
		text string
		kind string
		to   []*device
	}{
		{a, "Who's driving on Saturday?", "steady", []*device{l, b, c}}, // her key went with the Welcomes
		{b, "I can take three people.", "first", []*device{a, l, c}},
		{c, "I'll bring snacks.", "first", []*device{a, l, b}},
		{l, "Booking the campsite from my laptop.", "first", []*device{a, b, c}},
		{a, "Great, leaving at 7 then.", "steady", []*device{l, b, c}},
		{b, "Perfect.", "steady", []*device{a, l, c}},
		{c, "See you!", "steady", []*device{a, l, b}},
	}
	before := len(s.res.Failed())
	for _, l := range lines {
		if _, err := s.send(ctx, l.from, l.text, l.kind, l.to...); err != nil {
			return err
		}
	}
	s.check(len(s.res.Failed()) == before, "7 messages, each one Waku publish, each read on every other device (Alice's own on her other device too)", "")
	return nil
}

func (s *story) addDave(ctx context.Context) error {
	a, l, b, c, d := s.alice, s.laptop, s.bob, s.carol, s.dave
	// Alice's phone misses Bob's last message (it hears nothing on the group topic for a
	// moment): she is behind on Bob when she adds Dave, so what she hands Dave could reach
	// back before his join.
	a.meter.Deafen(s.topic, true)
	backlog, err := s.send(ctx, b, "Who brings the stove?", "steady", l, c)
	a.meter.Deafen(s.topic, false)
	if err != nil {
		return err
	}
	s.say("(Alice's phone missed Bob's last message: she adds Dave while behind on Bob)")
	g0, gb0 := a.meter.Published(s.topic)
	p0, pb0 := a.meter.PublishedExcept(s.topic)
	if err := a.Client.AddMembers(ctx, s.group, d.Info.ID); err != nil {
		return err
	}
	g1, gb1 := a.meter.Published(s.topic)
	p1, pb1 := a.meter.PublishedExcept(s.topic)
	s.say("Alice adds Dave: the signed MEMBERS_ADDED goes to the group, Dave gets a pairwise Welcome")
	ok := s.wait(ctx, d, chorustest.Joined(s.group))
	s.check(ok, "Dave joined the group", "")
	for _, m := range []*device{l, b, c} {
		ok := s.wait(ctx, m, chorustest.SawAdded(s.group, d.Info.ID))
		s.check(ok, fmt.Sprintf("%s sees Dave added", m.name()), "")
	}
	// Dave's app fetches the group's recent history from the store (everything said
	// before he joined is there).
	if err := d.Client.Sync(ctx); err != nil {
		s.say("Dave's sync: %v", err)
	}
	older, leaked := 0, 0
	ms, err := d.Client.Messages(ctx, s.group, protocol.MessageFilter{})
	if err != nil {
		return err
	}
	for _, m := range ms {
		switch {
		case m.Content.Type != protocol.ContentText:
		case m.ID == backlog:
			leaked++
		default:
			older++
		}
	}
	s.daveJoined = len(s.sent)
	s.check(older == 0, "Dave cannot read what was said before he joined (older than what Alice had read)",
		"%d earlier messages on his device", older)
	// Issue 13 (key schedule v2): the Welcome carries only the join of Dave's own epoch, so
	// what Alice had missed stays unreadable to him too (v1 forwarded her receiver states).
	s.check(leaked == 0, fmt.Sprintf("Dave cannot read Bob's %q either, sent before he joined while Alice was behind", "Who brings the stove?"),
		"he read it: the inviter's state leaked into the Welcome")
	if _, err := s.send(ctx, d, "Hi all, count me in!", "first", a, l, b, c); err != nil {
		return err
	}
	if _, err := s.send(ctx, b, "Welcome Dave!", "newcomer", a, l, c, d); err != nil {
		return err
	}
	if _, err := s.send(ctx, c, "Hi Dave :)", "newcomer", a, l, b, d); err != nil {
		return err
	}
	s.tally.row(Row{"add a member", fmt.Sprintf("%d + %d publishes, %d + %d B", g1-g0, p1-p0, gb1-gb0, pb1-pb0),
		"membership event with its key block (a seed per existing device) + pairwise Welcome with Dave's join"})
	return nil
}

func (s *story) removeCarol(ctx context.Context) error {
	a, l, b, c, d := s.alice, s.laptop, s.bob, s.carol, s.dave
	// Carol keeps the group secret, so her node can still listen on the topic: count
	// what reaches it after the removal.
	stop, err := s.listen(ctx, c)
	if err != nil {
		return err
	}
	carolBefore := textCount(ctx, c, s.group)
	n0, b0 := a.meter.Published(s.topic)
	if err := a.Client.RemoveMembers(ctx, s.group, c.Info.ID); err != nil {
		stop()
		return err
	}
	n1, b1 := a.meter.Published(s.topic)
	s.tally.removal(n1-n0, b1-b0)
	s.say("Alice removes Carol: the signed MEMBER_REMOVED and its key block (a fresh seed for every remaining device)")
	s.say("go to the group in one publish under the old epoch, so Carol learns it (%d publish, %d B): that is the whole rekey", n1-n0, b1-b0)
	ok := s.wait(ctx, c, chorustest.ToldRemoved(s.group))
	s.check(ok, "Carol is told she was removed", "")
	for _, m := range []*device{l, b, d} {
		ok := s.wait(ctx, m, chorustest.SawRemoved(s.group, c.Info.ID))
		s.check(ok, fmt.Sprintf("%s sees Carol removed", m.name()), "")
	}
	s.say("every remaining device now sends under the new epoch; no message carries any key:")
	var ids []protocol.MessageID
	for _, l := range []struct {
		from *device
		text string
		to   []*device
	}{
		{a, "Carol can't make it after all.", []*device{l, b, d}},
		{b, "Meet at 8 at the parking lot.", []*device{a, l, d}},
		{d, "See you there!", []*device{a, l, b}},
	} {
		id, err := s.send(ctx, l.from, l.text, "rekey", l.to...)
		if err != nil {
			stop()
			return err
		}
		ids = append(ids, id)
	}
	time.Sleep(300 * time.Millisecond) // anything on its way to Carol arrives
	got := stop()
	read := 0
	for _, id := range ids {
		read += len(c.Events.Arrivals(id))
	}
	carolAfter := textCount(ctx, c, s.group)
	s.check(got >= len(ids) && read == 0 && carolAfter == carolBefore,
		"Carol's node received the new messages but she could read none of them",
		"%d envelopes on the group topic reached her node, %d decrypted, %d new messages on her device", got, read, carolAfter-carolBefore)
	return nil
}

func (s *story) revokeLostDevice(ctx context.Context) error {
	a, l, b, d := s.alice, s.laptop, s.bob, s.dave
	// The laptop is lost, not wiped: its client keeps running and its node keeps
	// listening on the group topic.
	stop, err := s.listen(ctx, l)
	if err != nil {
		return err
	}
	laptopBefore := textCount(ctx, l, s.group)
	n0, b0 := a.meter.PublishedExcept("")
	if err := a.Client.RevokeInstallation(ctx, l.Info.Installation); err != nil {
		stop()
		return err
	}
	n1, b1 := a.meter.PublishedExcept("")
	s.say("Alice lost her laptop: from her phone (it holds the account key) she revokes it; the signed")
	s.say("device list goes to the group and to her contacts (%d publishes, %d B); revocation is permanent", n1-n0, b1-b0)
	ins, err := a.Client.Installations(ctx)
	revoked := false
	for _, in := range ins {
		if in.ID == l.Info.Installation && in.Status == protocol.InstallationRevoked {
			revoked = true
		}
	}
	s.check(err == nil && revoked, "Alice's phone lists the laptop as revoked", "")
	for _, m := range []*device{b, d} {
		ok := s.waitUntil(ctx, knowsInstallations(m, a.Info.ID, 1))
		s.check(ok, fmt.Sprintf("%s drops Alice's laptop", m.person), "")
	}
	s.say("the device list rode with Alice's rekey (one publish): everyone is on a new epoch the laptop lacks:")
	var ids []protocol.MessageID
	for _, line := range []struct {
		from *device
		text string
		to   []*device
	}{
		{b, "Sorry about the laptop, Alice.", []*device{a, d}},
		{a, "Revoked it, the phone will do.", []*device{b, d}},
		{d, "Good call.", []*device{a, b}},
	} {
		id, err := s.send(ctx, line.from, line.text, "revoked", line.to...)
		if err != nil {
			stop()
			return err
		}
		ids = append(ids, id)
	}
	time.Sleep(300 * time.Millisecond) // anything on its way to the laptop arrives
	got := stop()
	read := 0
	for _, id := range ids {
		read += len(l.Events.Arrivals(id))
	}
	laptopAfter := textCount(ctx, l, s.group)
	s.check(got >= len(ids) && read == 0 && laptopAfter == laptopBefore,
		"the lost laptop received the new messages but could read none of them",
		"%d envelopes on the group topic reached it, %d decrypted, %d new messages on it", got, read, laptopAfter-laptopBefore)
	s.tally.row(Row{"revoke a device", fmt.Sprintf("%d publishes, %d B", n1-n0, b1-b0),
		"signed device list to the group (1 publish per group) and pairwise to contacts"})
	return nil
}

// listen counts what reaches d's node on the group topic until stop is called.
func (s *story) listen(ctx context.Context, d *device) (stop func() int, err error) {
	tp, err := chorustest.NewTap(ctx, d.node, s.topic)
	if err != nil {
		return nil, err
	}
	return func() int { return len(tp.Stop()) }, nil
}
