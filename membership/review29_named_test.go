package membership_test

import (
	"slices"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// review29Twin builds fix 41's "unnamed" scene (TestFix41TwinOrderIndependent): alice adds
// bob, carol, dave and promotes bob; bob adds eve (E, clock 500), steps down (sb) and alice
// removes him (R, naming E through sb); bob's backdated twin T of E (parent pb, clock 450)
// is named by nobody, so it is held (pending).
func review29Twin(t *testing.T) (*dag, m.Event) {
	d := newDAG(t, "review29-named")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
	d.add("pb", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("E", "bob", ev(m.MembersAdded, 500, "eve"), "pb")
	d.add("sb", "bob", m.Event{Type: m.AdminRemoved, Clock: 550, Members: m.MembersOf(pubs("bob")...)}, "E")
	d.add("R", "alice", ev(m.MemberRemoved, 600, "bob"), "sb")
	tw := d.add("T", "bob", ev(m.MembersAdded, 450, "eve"), "pb")
	return d, tw
}

func review29Has(list []m.Event, e m.Event) bool {
	return slices.ContainsFunc(list, func(x m.Event) bool { return x.ID() == e.ID() })
}

// TestReview29DiscardedEventNamesTwin — rule 1 (fix 41) says a twin is *named* when some
// HELD event by another author has it in its causal past, and discarded events are "not
// applied, not stored and not sent". twinIndex.named walks the children of every entry,
// whatever its status: an event that is itself discarded (invalid: signed by a non-member,
// or a rename by a non-admin member) names the twin, so the twin is kept (here overridden,
// and a head that the receiver's next event names) while the invalid event that named it
// is dropped. Scene: review29Twin (T held) plus X with parent T — "outsider": frank, never a
// member, removes carol; "member": carol, no admin, renames the group. Both are invalid and
// discarded.
// Asserted: (1) Derive(all + X) = Derive(all) — X is discarded, the set of held events is
// the same; (2) the state re-derived from its own log (what is stored and sent: X is not in
// it) is the state; (3) Update of the stored state with X alone changes nothing.
// Result: fails deterministically (3 of 3 runs), each variant: T kept (in Overridden, one of
// the Heads) with X, held without; Derive(Log) gives T held again; Update keeps T. So anyone
// holding a key — no member of the group — can make every receiver keep a twin that no
// member named, the receivers that met X differ from those that did not (Heads differ: the
// former name T in their next event, which then names it for everyone), and a state is not
// a function of its own stored log. Verified cause: named() counts children with status
// discarded (and waiting: see TestReview29PendingNeverMemberNamesTwin).
// Suggested root fix (membership/causal.go twinIndex.named): count only children that are
// themselves kept (or at least valid and held, and whose author could ever apply events),
// e.g. decide naming after the children's own validity, or define "named" as "in the causal
// past of a kept event by another author" and re-evaluate held twins when that changes.
func TestReview29DiscardedEventNamesTwin(t *testing.T) {
	for _, v := range []struct {
		name, author string
		x            m.Event
	}{
		{"outsider", "frank", ev(m.MemberRemoved, 700, "carol")},
		{"member", "carol", m.Event{Type: m.NameChanged, Clock: 700, Name: "carol's"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			d, tw := review29Twin(t)
			base := d.derive()
			if review29Has(base.Events, tw) || review29Has(base.Overridden, tw) || !review29Has(base.Pending, tw) {
				t.Fatalf("setup: T not held as pending without X")
			}
			x := d.add("X", v.author, v.x, "T")
			with := d.derive()
			if review29Has(with.Events, x) || review29Has(with.Overridden, x) || review29Has(with.Pending, x) {
				t.Fatalf("setup: X is not discarded")
			}
			if !sameState(with, base) {
				t.Errorf("a discarded event by %s named T: with X T kept %v (overridden %v), held %v; without X held %v",
					v.author, review29Has(with.Events, tw) || review29Has(with.Overridden, tw), review29Has(with.Overridden, tw),
					review29Has(with.Pending, tw), review29Has(base.Pending, tw))
			}
			again := d.derive(with.Log()...)
			if !sameState(again, with) {
				t.Errorf("the state is not that of its own log: T held %v in the re-derived state, %v in the state",
					review29Has(again.Pending, tw), review29Has(with.Pending, tw))
			}
			up, _, err := m.Update(&base, encodeMsg(t, d.chat, x), actors["alice"].pub, farFuture, m.ChorusRules())
			if err != nil {
				t.Fatal(err)
			}
			if !sameState(up, base) {
				t.Errorf("Update with the discarded X alone changed the state: T held %v (was %v), heads %d (were %d)",
					review29Has(up.Pending, tw), review29Has(base.Pending, tw), len(up.Heads), len(base.Heads))
			}
		})
	}
}
