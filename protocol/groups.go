package protocol

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport"
)

// groupCache is the in-memory view of a group that the hot path needs.
type groupCache struct {
	id     GroupID
	topic  string
	aead   cipher.AEAD
	state  membership.State
	status GroupStatus

	// members indexes state.Members (membership checks on the hot path); the two are
	// replaced together.
	members memberIndex

	// sender caches our deserialised sender key (deriving its signing key is costly);
	// valid only while senderBytes equals the stored state.
	sender      *senderkeys.Sender
	senderBytes []byte

	// Key schedule v2: v2 is set for a group of it; live are its live epochs (oldest
	// first), cur the current one (nil while seeds are missing).
	v2   bool
	live []epoch.Epoch
	cur  *epoch.Epoch
	// healthy is the schedule and bookkeeping last found healed (a send skips the
	// check while they are unchanged; epochs_healed.go).
	healthy healedState
	// installs caches the ids of the members' installations (membership_installs.go).
	installs *memberInstalls
	// refusedFrom: the authors whose seed we refused and healed at once (in memory; a
	// repeat is healed at once by the designated installation only: epochs_confirm.go).
	refusedFrom []InstallationID
	// overdue: since when we wait for the designated installation's heal, our rank among
	// the candidates after it, and the frontier it would heal (frontierKey: a note for
	// another frontier is stale); in memory, noted again after a reload (healDue).
	overdue     time.Time
	overdueRank int
	overdueFor  [32]byte
	// confirms: the confirmation of the first signed block seen of each frontier key event
	// (in memory; equivocation: epochs_blocksig.go).
	confirms map[epoch.ID][epoch.IDSize]byte
}

func groupAEAD(secret [32]byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret[:], nil, labelGroupKey, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	return chacha20poly1305.NewX(key)
}

func (gc *groupCache) isMember(key string) bool { return gc.members.has(gc.state.Members, key) }

// cacheGroup builds the cache entry of g and installs it at commit.
func (t *txn) cacheGroup(g *storage.GroupRecord) (*groupCache, error) {
	st := membership.State{ChatID: g.ChatID} // joining from a creation Welcome (joiningV2)
	if len(g.Events) > 0 || !isV2(g) {
		var err error
		if st, err = deriveState(g.ChatID, g.Events); err != nil {
			return nil, err
		}
	}
	aead, err := groupAEAD(g.Secret)
	if err != nil {
		return nil, err
	}
	gc := &groupCache{id: g.ID, topic: g.Topic, aead: aead, state: st, status: g.Status, members: memberSet(&st)}
	cacheEpochs(g, gc)
	if logHolds(g.Events, &st) {
		t.setLogMark(g.ID, &st)
	} else {
		t.setLogMark(g.ID, nil)
	}
	c := t.c
	t.onCommit(func() {
		old := c.groups[g.ID]
		c.groups[g.ID] = gc
		if old != nil && old.topic != gc.topic {
			c.topics[old.topic] = slices.DeleteFunc(c.topics[old.topic], func(id GroupID) bool { return id == g.ID })
		}
		if !slices.Contains(c.topics[gc.topic], g.ID) {
			c.topics[gc.topic] = append(c.topics[gc.topic], g.ID)
		}
	})
	t.topicsChanged = true
	return gc, nil
}

// memberInstallations returns the unrevoked installations of the group's members
// (ours excluded) that we know.
func (t *txn) memberInstallations(st *membership.State) ([]storage.InstallationRecord, error) {
	var out []storage.InstallationRecord
	for _, m := range st.Members.All() {
		ins, err := t.InstallationsOf(m)
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			if !in.Revoked && in.ID != t.c.acct.inst {
				out = append(out, in)
			}
		}
	}
	return out, nil
}

// signEvents signs events for chatID with increasing clocks after the state's last clock
// (st nil: a new group, whose first event is its CHAT_CREATED). Under the causal rules the
// first event names the state's heads as parents and each next one the event before it.
// Only an installation holding the account key can (membership events are signed by the
// account).
func (c *Client) signEvents(chatID string, st *membership.State, evs ...membership.Event) ([]membership.Event, error) {
	if c.acct.key == nil {
		return nil, ErrNotAccountHolder
	}
	var last uint64
	var parents []membership.EventID
	causal := st == nil
	if st != nil {
		last, parents, causal = st.LastClock, st.Heads, st.Version == membership.RulesCausal
		if len(parents) > membership.MaxParents {
			// More heads than an event may name (a burst of concurrent changes): name the
			// first MaxParents; the others stay heads and a later event names them.
			parents = parents[:membership.MaxParents]
		}
	}
	clock := max(last+1, uint64(c.now().UnixMilli()))
	out := make([]membership.Event, 0, len(evs))
	for _, ev := range evs {
		ev.ChatID = chatID
		ev.Clock = clock
		clock++
		if causal {
			if ev.Type == membership.ChatCreated {
				ev.Version = membership.RulesCausal
			} else {
				ev.Parents = slices.Clone(parents)
			}
		}
		s, err := membership.SignEvent(c.acct.key, chatID, ev)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		parents = []membership.EventID{s.ID()}
	}
	return out, nil
}

// contactDeviceLists returns the stored device lists of accounts (those we have).
func (t *txn) contactDeviceLists(accounts membership.Members) ([][]byte, error) {
	var out [][]byte
	for _, a := range accounts.All() {
		if a == t.c.acct.id {
			list, err := t.ownDeviceList(0)
			if err != nil {
				return nil, err
			}
			out = append(out, list)
			continue
		}
		rec, err := t.Contact(a)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec.DeviceList)
	}
	return out, nil
}

// CreateGroup creates a group with us as creator and admin, the given members (account
// ids of known contacts), a name and a description, and welcomes every member
// installation. It returns once everything is stored; the Welcomes are published by Run,
// each at its own random time within the burst spread (WithBurstSpread; at once with 0),
// and the creator's publishes on the new group topic before it returns (failures are
// retried by Run).
func (c *Client) CreateGroup(ctx context.Context, name, description string, members ...string) (GroupID, error) {
	var gid GroupID
	var outs []*storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		t.beginBurst() // the Welcomes (spread.go)
		acct, err := t.holder()
		if err != nil {
			return err
		}
		members = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(members))), func(m string) bool { return m == acct.id })
		for _, m := range members {
			if _, err := t.Contact(m); err != nil {
				return fmt.Errorf("%w: %s", ErrUnknownContact, m)
			}
		}
		chatID, err := membership.NewChatID(c.rand, &acct.key.PublicKey)
		if err != nil {
			return err
		}
		evs := []membership.Event{{Type: membership.ChatCreated, Name: name}}
		if len(members) > 0 {
			evs = append(evs, membership.Event{Type: membership.MembersAdded, Members: membership.MembersOf(members...)})
		}
		if description != "" {
			evs = append(evs, membership.Event{Type: membership.DescriptionChanged, Description: description})
		}
		signed, err := c.signEvents(chatID, nil, evs...)
		if err != nil {
			return err
		}
		st, err := membership.Derive(chatID, signed, membership.ChorusRules())
		if err != nil {
			return err
		}
		if _, err := io.ReadFull(c.rand, gid[:]); err != nil {
			return err
		}
		g := &storage.GroupRecord{ID: gid, ChatID: chatID, Buckets: c.opt.buckets, Distribute: true, JoinedAt: c.now(), UpdatedAt: c.now()}
		if _, err := io.ReadFull(c.rand, g.Secret[:]); err != nil {
			return err
		}
		g.Topic = topics.GroupTopic(g.Secret[:], g.Buckets)
		t.keepOutOfBurst(g.Topic) // only the Welcomes are spread
		setMeta(g, &st)
		if g.Events, err = encodeEvents(&st); err != nil {
			return err
		}
		if c.opt.epochs {
			// Key schedule v2: the creation is the first key event; every member
			// installation (ours included) gets its join in a Welcome v2.
			g.Distribute = false
			if g.EpochMeta, err = (&epochMeta{V: 2}).encode(); err != nil {
				return err
			}
			if err := t.PutGroup(g); err != nil {
				return err
			}
			gc, err := t.cacheGroup(g)
			if err != nil {
				return err
			}
			if err := t.markJoinSync(g.Topic, c.now()); err != nil {
				return err
			}
			outs, err = t.createGroupV2(g, gc, &st, signed[0], append(slices.Clone(members), acct.id))
			return err
		}
		sender, err := senderkeys.NewSender(c.rand, gid[:])
		if err != nil {
			return err
		}
		if g.Sender, err = sender.MarshalBinary(); err != nil {
			return err
		}
		if err := t.PutGroup(g); err != nil {
			return err
		}
		if _, err := t.cacheGroup(g); err != nil {
			return err
		}
		if err := t.markJoinSync(g.Topic, c.now()); err != nil {
			return err
		}
		// Our other installations join too (welcome skips this one).
		outs, err = t.welcome(g, &st, append(slices.Clone(members), acct.id))
		return err
	})
	if err != nil {
		return GroupID{}, err
	}
	c.publishIDs(ctx, outs)
	return gid, nil
}

func setMeta(g *storage.GroupRecord, st *membership.State) {
	g.Name, g.Description, g.Color, g.Image = st.Name, st.Description, st.Color, st.Image
}

// welcome sends a Welcome to every installation of the accounts newcomers (ours
// excluded): the group secret, the event log, the device lists of all members and the
// sender-key states we hold (every receiver's current state plus our own sender's), and
// marks them as holding our current key.
func (t *txn) welcome(g *storage.GroupRecord, st *membership.State, newcomers []string) ([]*storage.OutboxRecord, error) {
	if len(newcomers) == 0 {
		return nil, nil
	}
	bodies, err := t.welcomeBodies(g, st)
	if err != nil {
		return nil, err
	}
	var outs []*storage.OutboxRecord
	var welcomed []InstallationID
	for _, m := range newcomers {
		ins, err := t.InstallationsOf(m)
		if err != nil {
			return nil, err
		}
		list := make([]*storage.InstallationRecord, 0, len(ins))
		for i := range ins {
			list = append(list, &ins[i])
		}
		o, w, err := t.welcomeInstallations(g, bodies, list, "")
		if err != nil {
			return nil, err
		}
		outs, welcomed = append(outs, o...), append(welcomed, w...)
	}
	if g.Sender != nil {
		if err := t.MarkDistributed(g.ID, welcomed); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// welcomeBodies encodes the Welcome of group g (split to fit publishes).
func (t *txn) welcomeBodies(g *storage.GroupRecord, st *membership.State) ([][]byte, error) {
	lists, err := t.contactDeviceLists(st.Members)
	if err != nil {
		return nil, err
	}
	var dists [][]byte
	if g.Sender != nil {
		s := new(senderkeys.Sender)
		if err := s.UnmarshalBinary(g.Sender); err != nil {
			return nil, err
		}
		d, err := s.Distribution(t.c.acct.ident.SigningKey(), t.c.acct.inst)
		if err != nil {
			return nil, err
		}
		b, err := d.MarshalBinary()
		if err != nil {
			return nil, err
		}
		dists = append(dists, b)
	}
	recs, err := t.Receivers(g.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		rcv := new(senderkeys.Receiver)
		if err := rcv.UnmarshalBinary(r.State); err != nil {
			return nil, err
		}
		for _, d := range rcv.Forward() {
			b, err := d.MarshalBinary()
			if err != nil {
				return nil, err
			}
			dists = append(dists, b)
		}
	}
	return splitWelcome(&wire.Welcome{GroupID: g.ID, ChatID: g.ChatID, Secret: g.Secret, Buckets: g.Buckets,
		SentAt: uint64(t.c.now().UnixMilli()), Membership: g.Events}, lists, dists, t.c.welcomeLimit)
}

// welcomeInstallations sends the Welcome bodies to each unrevoked installation in ins
// other than ours, on topic ("": its account's inbox), and returns the outbox records
// and the installations welcomed.
func (t *txn) welcomeInstallations(g *storage.GroupRecord, bodies [][]byte, ins []*storage.InstallationRecord, topic string) ([]*storage.OutboxRecord, []InstallationID, error) {
	var outs []*storage.OutboxRecord
	var welcomed []InstallationID
	for _, in := range ins {
		if in.Revoked || in.ID == t.c.acct.inst {
			continue
		}
		ok := true
		for _, body := range bodies {
			tp, frame, err := t.sealPairwiseTo(in, &wire.PairwiseMessage{Type: wire.PairwiseWelcome, Body: body}, topic)
			if err != nil {
				t.c.log.Debug("welcome: no session", "installation", in.ID.String()[:8], "err", err)
				ok = false
				break
			}
			o, err := t.queue(tp, frame, nil)
			if err != nil {
				return nil, nil, err
			}
			outs = append(outs, o)
		}
		if ok {
			welcomed = append(welcomed, in.ID)
		}
	}
	return outs, welcomed, nil
}

// welcomeBudget is the largest Welcome body sent in one pairwise message: the publish
// limit minus room for the inbox frame, sealing, the Double Ratchet header and tag and
// the sender's device list on initial messages.
// The sender's device list on initial messages can reach about 9 KiB (MaxDeviceListEntries
// entries and MaxInstallations bundles).
const welcomeBudget = transport.MaxPayload - 16384

// splitWelcome encodes w with the device lists and distributions, split into as many Welcomes as
// needed to fit welcomeBudget each: the first carries the event log, the others only
// device lists and distributions (their recipient applies them to the group the first created).
func splitWelcome(w *wire.Welcome, lists, dists [][]byte, budget int) ([][]byte, error) {
	var out [][]byte
	cur := *w
	base := func(x *wire.Welcome) int {
		b, _ := x.Marshal()
		return len(b)
	}
	size := base(&cur)
	if size > budget {
		return nil, errors.New("protocol: group event log too large for a Welcome")
	}
	flush := func() error {
		b, err := cur.Marshal()
		if err != nil {
			return err
		}
		out = append(out, b)
		cur = wire.Welcome{GroupID: w.GroupID, ChatID: w.ChatID, Secret: w.Secret, Buckets: w.Buckets, SentAt: w.SentAt}
		size = base(&cur)
		return nil
	}
	add := func(item []byte, list *[][]byte) error {
		n := 2 + len(item)
		if size+n > budget && (len(cur.DeviceLists) > 0 || len(cur.Distributions) > 0 || len(cur.Membership) > 0) {
			if err := flush(); err != nil { // cur is reset in place: list still points into it
				return err
			}
		}
		*list = append(*list, item)
		size += n
		return nil
	}
	for _, c := range lists {
		if err := add(c, &cur.DeviceLists); err != nil {
			return nil, err
		}
	}
	for _, d := range dists {
		if err := add(d, &cur.Distributions); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// group returns the record and cache of an active group.
func (t *txn) group(id GroupID) (*storage.GroupRecord, *groupCache, error) {
	g, err := t.Group(id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, ErrUnknownGroup
	}
	if err != nil {
		return nil, nil, err
	}
	gc := t.c.groups[id]
	if gc == nil {
		if gc, err = t.cacheGroup(g); err != nil {
			return nil, nil, err
		}
	}
	return g, gc, nil
}

// groupHot is group without the event log (whose size grows with the group) when the
// group is cached.
func (t *txn) groupHot(id GroupID) (*storage.GroupRecord, *groupCache, error) {
	gc := t.c.groups[id]
	if gc == nil {
		return t.group(id)
	}
	g, err := t.GroupState(id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, ErrUnknownGroup
	}
	return g, gc, err
}

// Groups lists our groups (including those we left or were removed from).
func (c *Client) Groups(ctx context.Context) ([]GroupInfo, error) {
	var out []GroupInfo
	err := c.tx(ctx, func(t *txn) error {
		gs, err := t.Groups()
		if err != nil {
			return err
		}
		for i := range gs {
			_, gc, err := t.group(gs[i].ID)
			if err != nil {
				return err
			}
			if joiningV2(gc) {
				continue // not joined yet: its creation events have not arrived
			}
			out = append(out, groupInfo(&gs[i], gc))
		}
		return nil
	})
	return out, err
}

// Group describes one group.
func (c *Client) Group(ctx context.Context, id GroupID) (GroupInfo, error) {
	var out GroupInfo
	err := c.tx(ctx, func(t *txn) error {
		g, gc, err := t.group(id)
		if err != nil {
			return err
		}
		if joiningV2(gc) {
			return storage.ErrNotFound // not joined yet: its creation events have not arrived
		}
		out = groupInfo(g, gc)
		return nil
	})
	return out, err
}

func groupInfo(g *storage.GroupRecord, gc *groupCache) GroupInfo {
	return GroupInfo{ID: g.ID, ChatID: g.ChatID, Name: gc.state.Name, Description: gc.state.Description, Color: gc.state.Color,
		Image: slices.Clone(gc.state.Image), Creator: strings.Clone(gc.state.Creator), Members: gc.state.Members.Strings(),
		Admins: detachStrings(gc.state.Admins), Status: g.Status, Topic: g.Topic}
}

// detachStrings copies ss into one fresh backing string, so that a GroupInfo the
// application keeps holds nothing of the group's state (the member ids are rendered by
// membership.Members.Strings, their own).
func detachStrings(ss []string) []string {
	if ss == nil {
		return nil
	}
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range ss {
		b.WriteString(s)
	}
	all, out := b.String(), make([]string, len(ss))
	for i, s := range ss {
		out[i], all = all[:len(s)], all[len(s):]
	}
	return out
}

// Members returns the group's members (account ids).
func (c *Client) Members(ctx context.Context, id GroupID) ([]string, error) {
	g, err := c.Group(ctx, id)
	return g.Members, err
}

// Admins returns the group's admins (account ids).
func (c *Client) Admins(ctx context.Context, id GroupID) ([]string, error) {
	g, err := c.Group(ctx, id)
	return g.Admins, err
}

// Messages returns stored messages of a group, newest first.
func (c *Client) Messages(ctx context.Context, id GroupID, f MessageFilter) ([]Message, error) {
	var out []Message
	err := c.tx(ctx, func(t *txn) error {
		recs, err := t.Messages(id, f)
		for i := range recs {
			out = append(out, messageFromRecord(&recs[i]))
		}
		return err
	})
	return out, err
}
