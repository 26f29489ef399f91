package demo

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/waku"
)

func (s *story) network(ctx context.Context) error {
	var addrs []string
	for i := range 3 {
		cfg := waku.Config{Peers: slices.Clone(addrs), Logger: s.o.Logger}
		if i == 0 {
			cfg.Store, cfg.StorePath = true, filepath.Join(s.dir, "relay-1-store.db")
		}
		n, err := waku.New(ctx, cfg)
		if err != nil {
			return fmt.Errorf("relay %d: %w", i+1, err)
		}
		s.relays = append(s.relays, n)
		addrs = append(addrs, n.ListenAddrs()[0])
	}
	deadline := time.Now().Add(s.o.Wait)
	for _, r := range s.relays {
		for r.PeerCount() < 2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i, r := range s.relays {
		role := "relay"
		if i == 0 {
			role = "relay + store"
		}
		s.say("relay-%d  %-13s %s", i+1, role, r.ListenAddrs()[0])
	}
	ok := true
	for _, r := range s.relays {
		ok = ok && r.PeerCount() >= 2
	}
	s.check(ok, "3 go-waku relay nodes on 127.0.0.1 in a full mesh, relay-1 serves store", "")
	return nil
}

func (s *story) newDevice(person, label string, relay int) *device {
	return &device{person: person, label: label, dbPath: dbPath(s.dir, person, label),
		peer: s.relays[relay].ListenAddrs()[0], storePeer: s.relays[0].ListenAddrs()[0], log: s.o.Logger,
		// WithBurstSpread(0): the story wants Welcomes and device changes at once (the default
		// spreads them over protocol.DefaultBurstSpread).
		opts: []protocol.Option{protocol.WithLogger(s.o.Logger), protocol.WithSyncInterval(time.Second), protocol.WithEpochs(true),
			protocol.WithRetryBackoff(200 * time.Millisecond), protocol.WithBurstSpread(0), protocol.WithDevice(person+"'s "+label, "")}}
}

func (s *story) devices() []*device {
	var out []*device
	for _, d := range []*device{s.alice, s.laptop, s.bob, s.carol, s.dave} {
		if d != nil {
			out = append(out, d)
		}
	}
	return out
}

func (s *story) accounts(ctx context.Context) error {
	s.alice = s.newDevice("Alice", "phone", 0)
	s.laptop = s.newDevice("Alice", "laptop", 2)
	s.bob = s.newDevice("Bob", "phone", 1)
	s.carol = s.newDevice("Carol", "laptop", 2)
	s.dave = s.newDevice("Dave", "phone", 1)
	for _, d := range s.devices() {
		if err := os.MkdirAll(filepath.Dir(d.dbPath), 0o700); err != nil {
			return err
		}
		mode := chorustest.Create
		if d == s.laptop {
			mode = chorustest.Link
		}
		if err := d.start(ctx, mode); err != nil {
			return fmt.Errorf("%s: %w", d.name(), err)
		}
		rel, _ := filepath.Rel(s.dir, d.dbPath)
		if d == s.laptop {
			s.say("%-12s a new installation waiting to be linked (link code %s…)  %s", d.name(), d.LinkCode[:22], rel)
			continue
		}
		s.say("%-12s account %s  installation %s  %s", d.name(), chorustest.Short(d.Info.ID), d.Info.Installation.String()[:8], rel)
	}
	s.say("each device runs its own go-waku relay node (connected to one relay) and its own sqlite file")
	if err := s.meshReady(ctx); err != nil {
		return err
	}
	return s.linkLaptop(ctx)
}

// linkLaptop links Alice's laptop to her account from her phone.
func (s *story) linkLaptop(ctx context.Context) error {
	a, l := s.alice, s.laptop
	n0, b0 := a.meter.PublishedExcept("")
	t0 := time.Now()
	id, err := a.Client.LinkDevice(ctx, l.LinkCode, "laptop")
	if err != nil {
		return fmt.Errorf("linking the laptop: %w", err)
	}
	n1, b1 := a.meter.PublishedExcept("")
	ok := s.wait(ctx, l, chorustest.Linked)
	if ok {
		l.Info, err = l.Client.Account()
		ok = err == nil && l.Info.ID == a.Info.ID && l.Info.Installation == id
	}
	s.say("Alice links her laptop: she scans its link code with her phone, which holds the account key,")
	s.say("signs the new device list and sends the laptop her contacts and groups (%d publishes, %d B)", n1-n0, b1-b0)
	s.check(ok, "Alice/laptop is an installation of Alice's account", "linked after %s", round(time.Since(t0)))
	bound := s.waitUntil(ctx, binds(a, id))
	s.say("the laptop signs its binding to Alice's account and sends it back; her phone then announces it")
	s.check(bound, "Alice's device list binds the laptop (its own signature)", "after %s", round(time.Since(t0)))
	ins, err := a.Client.Installations(ctx)
	active := 0
	for _, in := range ins {
		if in.Status == protocol.InstallationActive {
			active++
		}
	}
	s.check(err == nil && active == 2, "Alice's phone lists 2 active installations", "")
	s.tally.row(Row{"link a device", fmt.Sprintf("%d publishes, %d B", n1-n0, b1-b0),
		"device list, contacts and group states to the new installation (account in 0 groups)"})
	return nil
}

// meshReady waits until a publish from any device reaches every other device: the
// relays' gossipsub mesh is built on heartbeats, shortly after the connections.
func (s *story) meshReady(ctx context.Context) error {
	const probeTopic = "/chorus/1/demo-probe/proto"
	devs := s.devices()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make([]map[string]bool, len(devs))
	chans := make([]<-chan transport.Envelope, len(devs))
	for i, d := range devs {
		got[i] = map[string]bool{}
		ch, err := d.node.Subscribe(pctx, []string{probeTopic})
		if err != nil {
			return err
		}
		chans[i] = ch
	}
	t0 := time.Now()
	for round := 0; time.Since(t0) < s.o.Wait; round++ {
		for i, d := range devs {
			_, _ = d.node.Publish(ctx, probeTopic, []byte(fmt.Sprintf("probe %d %d", round, i)))
		}
		deadline := time.After(200 * time.Millisecond)
	drain:
		for {
			select {
			case <-deadline:
				break drain
			default:
			}
			progress := false
			for i, ch := range chans {
				select {
				case e := <-ch:
					got[i][strings.Fields(string(e.Payload))[2]] = true
					progress = true
				default:
				}
			}
			if !progress {
				time.Sleep(2 * time.Millisecond)
			}
		}
		full := true
		for i := range devs {
			full = full && len(got[i]) == len(devs)
		}
		if full {
			s.check(true, "relay mesh ready: a publish from any device reaches every device", "after %s", round2(time.Since(t0)))
			return nil
		}
	}
	return fmt.Errorf("the relay mesh did not form within %v", s.o.Wait)
}

func round2(d time.Duration) string { return round(d) }

func (s *story) contacts(ctx context.Context) error {
	code := func(d *device) (string, error) { return d.Client.ContactCode(ctx) }
	ac, err := code(s.alice)
	if err != nil {
		return err
	}
	for _, d := range []*device{s.bob, s.carol, s.dave} {
		c, err := code(d)
		if err != nil {
			return err
		}
		if _, err := s.alice.Client.AddContact(ctx, c); err != nil {
			return fmt.Errorf("adding %s's contact code on Alice's phone: %w", d.person, err)
		}
		if _, err := d.Client.AddContact(ctx, ac); err != nil {
			return fmt.Errorf("adding Alice's contact code on %s: %w", d.name(), err)
		}
	}
	s.say("Alice ↔ Bob, Alice ↔ Carol, Alice ↔ Dave scan each other's contact code")
	s.say("a code is %d characters (%s…): account key + signed device list + prekey bundle", len(ac), ac[:20])
	cs, err := s.alice.Client.Contacts(ctx)
	ok := err == nil && len(cs) == 3
	for _, c := range cs {
		ok = ok && len(c.Installations) == 1
	}
	s.check(ok, "Alice verified and stored 3 contacts, one installation each", "")
	ct, err := s.bob.Client.Contact(ctx, s.alice.Info.ID)
	s.check(err == nil && len(ct.Installations) == 2, "Alice's code carries both her devices", "Bob knows %d installations of Alice", len(ct.Installations))
	_, err = s.bob.Client.AddContact(ctx, tamper(ac))
	s.check(err != nil, "a contact code with one flipped bit is refused", "%v", err)
	return nil
}

// tamper flips one bit of the installation key inside a contact code's signed part.
func tamper(code string) string {
	prefix := protocol.ContactCodePrefix
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(code, prefix))
	if err != nil || len(raw) < 100 {
		return code + "!"
	}
	raw[1+65+8+2+16+5] ^= 0x01 // version, account, clock, list length, installation id, into the DH key
	return prefix + base64.RawURLEncoding.EncodeToString(raw)
}
