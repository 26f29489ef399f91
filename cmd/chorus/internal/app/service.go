package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorus-im/chorus/cmd/chorus/internal/display"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
)

// Network is what the Service needs from the Waku node it runs on.
type Network interface {
	// Ready returns nil once a publish can reach a peer; it fails with a CodeNoPeers
	// error when none is reachable before ctx ends.
	Ready(ctx context.Context) error
	// PeerCount is the number of relay peers now.
	PeerCount() int
	// Addrs are the node's multiaddrs (for other nodes' --peer).
	Addrs() []string
}

// Service runs the client operations of the chorus command on one protocol.Client.
// Its methods are safe for concurrent use.
type Service struct {
	c     *protocol.Client
	dir   Dir
	names *Names
	cfg   Config
	net   Network
	node  bool

	watchers atomic.Int32           // open Watch streams
	linkCode atomic.Pointer[string] // set while the installation waits to be linked

	namesMoved  atomic.Bool // names.json moved into the engine (names.go)
	namesMoveMu sync.Mutex
}

// NewService wraps c. net may be nil (no network: operations that publish fail with
// CodeNoPeers); node says whether it is served by a long-running node.
func NewService(c *protocol.Client, dir Dir, names *Names, cfg Config, net Network, node bool) *Service {
	if names == nil {
		names = &Names{m: map[string]string{}, added: map[string]time.Time{}}
	}
	return &Service{c: c, dir: dir, names: names, cfg: cfg, net: net, node: node}
}

// Client returns the engine client.
func (s *Service) Client() *protocol.Client { return s.c }

// Request parameters (JSON over the socket).
type (
	// GroupParams names a group.
	GroupParams struct {
		Group string `json:"group"`
	}
	// ContactAddParams adds a contact code with an optional local name.
	ContactAddParams struct {
		Code string `json:"code"`
		Name string `json:"name,omitempty"`
	}
	// ContactNameParams names a known account locally (Name "" removes the name).
	ContactNameParams struct {
		Contact string `json:"contact"`
		Name    string `json:"name"`
	}
	// GroupCreateParams creates a group.
	GroupCreateParams struct {
		Name        string   `json:"name"`
		Description string   `json:"description,omitempty"`
		Members     []string `json:"members,omitempty"`
	}
	// GroupMembersParams adds or removes members.
	GroupMembersParams struct {
		Group   string   `json:"group"`
		Members []string `json:"members"`
	}
	// GroupTextParams renames or describes a group.
	GroupTextParams struct {
		Group string `json:"group"`
		Text  string `json:"text"`
	}
	// SendParams sends a text.
	SendParams struct {
		Group string `json:"group"`
		Text  string `json:"text"`
	}
	// ReadParams reads stored messages (oldest first): the newest Limit (0: all)
	// before local order Before (0: up to the newest).
	ReadParams struct {
		Group  string `json:"group"`
		Limit  int    `json:"limit,omitempty"`
		Before int64  `json:"before,omitempty"`
	}
	// DeviceParams names an installation (revoke, remove) or carries a link code and
	// the new device's name (link).
	DeviceParams struct {
		Installation string `json:"installation,omitempty"`
		Code         string `json:"code,omitempty"`
		Name         string `json:"name,omitempty"`
	}
)

func (s *Service) account() (protocol.AccountInfo, error) {
	a, err := s.c.Account()
	if err != nil {
		if s.pendingLink() != "" {
			return a, Errorf(CodeNoAccount, "this device is waiting to be linked: on a device of your account run `chorus devices link CODE` with the code `chorus id` shows here")
		}
		return a, Classify(err)
	}
	return a, nil
}

// Status describes the client.
func (s *Service) Status(ctx context.Context) (StatusView, error) {
	a, err := s.account()
	if err != nil {
		if s.pendingLink() == "" {
			return StatusView{}, err
		}
		v := StatusView{Name: s.cfg.Name, Node: s.node, LinkCode: s.pendingLink(), Watchers: int(s.watchers.Load())}
		if s.net != nil {
			v.Peers, v.Addrs = s.net.PeerCount(), s.net.Addrs()
		}
		return v, nil
	}
	v := StatusView{Account: a.ID, Name: s.cfg.Name, Installation: a.Installation.String(), Node: s.node,
		Watchers: int(s.watchers.Load())}
	if q, ok := s.c.Quota(); ok {
		v.Quota = &QuotaView{Limit: q.Limit, EpochMillis: q.Period.Milliseconds(), Epoch: q.Epoch, Remaining: q.Remaining,
			ResetAt: q.ResetAt, Queued: q.Queued}
	}
	if s.net != nil {
		v.Peers = s.net.PeerCount()
		v.Addrs = s.net.Addrs()
	}
	gs, err := s.c.Groups(ctx)
	if err != nil {
		return v, err
	}
	for _, g := range gs {
		if g.Status == protocol.GroupActive {
			v.Groups++
		}
	}
	cs, err := s.c.Contacts(ctx)
	v.Contacts = len(cs)
	return v, err
}

// ID returns the account and its contact code.
func (s *Service) ID(ctx context.Context) (IDView, error) {
	a, err := s.account()
	if err != nil {
		if s.pendingLink() != "" {
			return IDView{Name: s.cfg.Name, LinkCode: s.pendingLink()}, nil
		}
		return IDView{}, err
	}
	code, err := s.c.ContactCode(ctx)
	if err != nil {
		return IDView{}, err
	}
	return IDView{Account: a.ID, Name: s.cfg.Name, Installation: a.Installation.String(), Code: code}, nil
}

// AddContact verifies and stores a contact code, naming the contact locally.
func (s *Service) AddContact(ctx context.Context, p ContactAddParams) (ContactView, error) {
	code, err := NormalizeCode(strings.TrimSpace(p.Code)) // also the QR form
	if err != nil {
		return ContactView{}, Errorf(CodeBadContactCode, "%v", err)
	}
	if code == "" {
		return ContactView{}, Errorf(CodeUsage, "empty contact code")
	}
	a, err := s.account()
	if err != nil {
		return ContactView{}, err
	}
	if codeAccount(code) == a.ID {
		return ContactView{}, Errorf(CodeBadContactCode, "that is your own contact code")
	}
	ct, err := s.c.AddContact(ctx, code)
	if err != nil {
		return ContactView{}, Classify(err)
	}
	if p.Name != "" {
		others, err := s.lookupName(ctx, p.Name)
		if err != nil {
			return ContactView{}, err
		}
		if len(others) > 0 && !slices.Contains(others, ct.ID) {
			return ContactView{}, Errorf(CodeAmbiguous, "the name %q is already used for %s", p.Name, ShortID(others[0]))
		}
		if err := s.setName(ctx, ct.ID, p.Name); err != nil {
			return ContactView{}, err
		}
		if ct, err = s.c.Contact(ctx, ct.ID); err != nil {
			return ContactView{}, Classify(err)
		}
	}
	if err := s.names.MarkAdded(ct.ID, time.Now()); err != nil {
		return ContactView{}, err
	}
	return s.contactView(ct), nil
}

// NameContact gives a known account (id, unique id prefix or current name) a local name:
// contacts a linked device received from the account's other devices have none yet.
func (s *Service) NameContact(ctx context.Context, p ContactNameParams) (ContactView, error) {
	a, err := s.account()
	if err != nil {
		return ContactView{}, err
	}
	id, err := s.ResolveAccount(ctx, p.Contact)
	if err != nil {
		return ContactView{}, err
	}
	if id == a.ID {
		return ContactView{}, Errorf(CodeUsage, "that is your own account (its name is set by chorus init --name)")
	}
	if _, err := s.c.Contact(ctx, id); err != nil {
		return ContactView{}, Classify(err)
	}
	name := strings.TrimSpace(p.Name)
	others, err := s.lookupName(ctx, name)
	if err != nil {
		return ContactView{}, err
	}
	if name != "" && len(others) > 0 && !slices.Contains(others, id) {
		return ContactView{}, Errorf(CodeAmbiguous, "the name %q is already used for %s", name, ShortID(others[0]))
	}
	if err := s.setName(ctx, id, name); err != nil {
		return ContactView{}, err
	}
	ct, err := s.c.Contact(ctx, id)
	if err != nil {
		return ContactView{}, Classify(err)
	}
	return s.contactView(ct), nil
}

// codeAccount returns the account a contact code claims ("" if it does not parse); the
// engine verifies it.
func codeAccount(code string) string {
	cc, err := protocol.ParseContactCode(code)
	if err != nil {
		return ""
	}
	return cc.Account
}

func (s *Service) contactView(ct protocol.Contact) ContactView {
	name := ct.Name
	if name == "" {
		name = s.names.Get(ct.ID) // not moved into the engine yet
	}
	return ContactView{ID: ct.ID, Name: name, Installations: len(ct.Installations), Added: ct.Added,
		AddedAt: s.names.AddedAt(ct.ID)}
}

// Contacts lists known accounts.
func (s *Service) Contacts(ctx context.Context) ([]ContactView, error) {
	cs, err := s.c.Contacts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ContactView, 0, len(cs))
	for _, ct := range cs {
		out = append(out, s.contactView(ct))
	}
	return out, nil
}

// CreateGroup creates a group with the given members (ids, names or id prefixes).
func (s *Service) CreateGroup(ctx context.Context, p GroupCreateParams) (GroupView, error) {
	if strings.TrimSpace(p.Name) == "" {
		return GroupView{}, Errorf(CodeUsage, "a group needs a name")
	}
	members, err := s.resolveAccounts(ctx, p.Members)
	if err != nil {
		return GroupView{}, err
	}
	id, err := s.c.CreateGroup(ctx, p.Name, p.Description, members...)
	if err != nil {
		return GroupView{}, Classify(err)
	}
	return s.groupView(ctx, id)
}

// ChangeMembers adds or removes members.
// AddMembers adds accounts (contacts by name, id or prefix) to a group.
func (s *Service) AddMembers(ctx context.Context, p GroupMembersParams) (GroupView, error) {
	return s.changeMembers(ctx, true, p)
}

// RemoveMembers removes members from a group (the group rekeys).
func (s *Service) RemoveMembers(ctx context.Context, p GroupMembersParams) (GroupView, error) {
	return s.changeMembers(ctx, false, p)
}

func (s *Service) changeMembers(ctx context.Context, add bool, p GroupMembersParams) (GroupView, error) {
	g, err := s.ResolveGroup(ctx, p.Group)
	if err != nil {
		return GroupView{}, err
	}
	if len(p.Members) == 0 {
		return GroupView{}, Errorf(CodeUsage, "name at least one member")
	}
	members, err := s.resolveAccounts(ctx, p.Members)
	if err != nil {
		return GroupView{}, err
	}
	if err := s.checkAdmin(ctx, g.ID); err != nil {
		return GroupView{}, err
	}
	if add {
		err = s.c.AddMembers(ctx, g.ID, members...)
	} else {
		info, ierr := s.c.Group(ctx, g.ID)
		if ierr != nil {
			return GroupView{}, Classify(ierr)
		}
		for _, m := range members {
			if !slices.Contains(info.Members, m) {
				return GroupView{}, Errorf(CodeNotMember, "%s is not a member of %q", s.DisplayName(m), info.Name)
			}
		}
		err = s.c.RemoveMembers(ctx, g.ID, members...)
	}
	if err != nil {
		return GroupView{}, Classify(err)
	}
	return s.groupView(ctx, g.ID)
}

// checkAdmin fails early, with a clear error, when we cannot change the group.
func (s *Service) checkAdmin(ctx context.Context, id protocol.GroupID) error {
	a, err := s.account()
	if err != nil {
		return err
	}
	info, err := s.c.Group(ctx, id)
	if err != nil {
		return Classify(err)
	}
	if info.Status != protocol.GroupActive || !slices.Contains(info.Members, a.ID) {
		return Errorf(CodeNotMember, "not a member of %q any more", info.Name)
	}
	if !slices.Contains(info.Admins, a.ID) {
		return Errorf(CodeNotAdmin, "not an admin of %q: only admins (%s) can change it", info.Name, s.namesOf(info.Admins))
	}
	return nil
}

func (s *Service) namesOf(ids []string) string {
	var out []string
	for _, id := range ids {
		out = append(out, s.subject(id))
	}
	return strings.Join(out, ", ")
}

// Leave leaves a group.
func (s *Service) Leave(ctx context.Context, p GroupParams) (GroupView, error) {
	g, err := s.ResolveGroup(ctx, p.Group)
	if err != nil {
		return GroupView{}, err
	}
	if err := s.c.Leave(ctx, g.ID); err != nil {
		return GroupView{}, Classify(err)
	}
	return s.groupView(ctx, g.ID)
}

// SetText renames a group or sets its description.
// Rename sets a group's name.
func (s *Service) Rename(ctx context.Context, p GroupTextParams) (GroupView, error) {
	return s.setText(ctx, true, p)
}

// Describe sets a group's description.
func (s *Service) Describe(ctx context.Context, p GroupTextParams) (GroupView, error) {
	return s.setText(ctx, false, p)
}

func (s *Service) setText(ctx context.Context, rename bool, p GroupTextParams) (GroupView, error) {
	g, err := s.ResolveGroup(ctx, p.Group)
	if err != nil {
		return GroupView{}, err
	}
	if rename && strings.TrimSpace(p.Text) == "" {
		return GroupView{}, Errorf(CodeUsage, "a group needs a name")
	}
	if err := s.checkAdmin(ctx, g.ID); err != nil {
		return GroupView{}, err
	}
	if rename {
		err = s.c.SetName(ctx, g.ID, p.Text)
	} else {
		err = s.c.SetDescription(ctx, g.ID, p.Text)
	}
	if err != nil {
		return GroupView{}, Classify(err)
	}
	return s.groupView(ctx, g.ID)
}

// Groups lists every group, active ones first.
func (s *Service) Groups(ctx context.Context) ([]GroupView, error) {
	gs, err := s.c.Groups(ctx)
	if err != nil {
		return nil, Classify(err)
	}
	out := make([]GroupView, 0, len(gs))
	for _, g := range gs {
		out = append(out, s.view(g))
	}
	slices.SortStableFunc(out, func(a, b GroupView) int {
		if (a.Status == "active") != (b.Status == "active") {
			if a.Status == "active" {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
}

// GroupInfo describes one group.
func (s *Service) GroupInfo(ctx context.Context, ref string) (GroupView, error) {
	g, err := s.ResolveGroup(ctx, ref)
	if err != nil {
		return GroupView{}, err
	}
	return s.view(g), nil
}

func (s *Service) groupView(ctx context.Context, id protocol.GroupID) (GroupView, error) {
	g, err := s.c.Group(ctx, id)
	if err != nil {
		return GroupView{}, Classify(err)
	}
	return s.view(g), nil
}

func (s *Service) view(g protocol.GroupInfo) GroupView {
	a, _ := s.c.Account()
	v := GroupView{ID: g.ID.String(), Name: g.Name, Description: g.Description, Status: groupStatus(g.Status),
		Creator: g.Creator, ChatID: g.ChatID, Admin: slices.Contains(g.Admins, a.ID), Members: []MemberView{}}
	for _, m := range g.Members {
		v.Members = append(v.Members, MemberView{ID: m, Name: s.DisplayName(m), Admin: slices.Contains(g.Admins, m), Self: m == a.ID})
	}
	slices.SortStableFunc(v.Members, func(a, b MemberView) int {
		if a.Admin != b.Admin {
			if a.Admin {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return v
}

// Send sends a text message and returns it as stored.
func (s *Service) Send(ctx context.Context, p SendParams) (MessageView, error) {
	g, err := s.ResolveGroup(ctx, p.Group)
	if err != nil {
		return MessageView{}, err
	}
	if strings.TrimSpace(p.Text) == "" {
		return MessageView{}, Errorf(CodeUsage, "empty message")
	}
	if g.Status != protocol.GroupActive {
		return MessageView{}, Errorf(CodeNotMember, "not a member of %q any more", g.Name)
	}
	id, err := s.c.Send(ctx, g.ID, protocol.Text(p.Text))
	if err != nil {
		return MessageView{}, Classify(err)
	}
	return s.message(ctx, g.ID, id)
}

// message finds a stored message of group by id (among the newest).
func (s *Service) message(ctx context.Context, group protocol.GroupID, id protocol.MessageID) (MessageView, error) {
	ms, err := s.c.Messages(ctx, group, protocol.MessageFilter{Limit: 64})
	if err != nil {
		return MessageView{}, Classify(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return s.MessageView(ctx, m), nil
		}
	}
	return MessageView{ID: id.String(), Group: group.String(), Outgoing: true, Status: "unknown"}, nil
}

// Read returns stored messages, oldest first.
func (s *Service) Read(ctx context.Context, p ReadParams) ([]MessageView, error) {
	g, err := s.ResolveGroup(ctx, p.Group)
	if err != nil {
		return nil, err
	}
	if p.Limit < 0 {
		return nil, Errorf(CodeUsage, "negative limit")
	}
	ms, err := s.c.Messages(ctx, g.ID, protocol.MessageFilter{Limit: p.Limit, Before: p.Before})
	if err != nil {
		return nil, Classify(err)
	}
	out := make([]MessageView, len(ms))
	for i, m := range ms {
		out[len(ms)-1-i] = s.MessageView(ctx, m)
	}
	return out, nil
}

// MessageView converts a stored message.
func (s *Service) MessageView(ctx context.Context, m protocol.Message) MessageView {
	v := MessageView{ID: m.ID.String(), Group: m.Group.String(), Seq: m.Seq, Sender: m.Sender, SenderName: s.DisplayName(m.Sender),
		Device: m.SenderInstallation.String(), Time: m.Timestamp, Outgoing: m.Outgoing, Status: m.Status.String(),
		Kind: kindOf(m.Content.Type)}
	switch m.Content.Type {
	case protocol.ContentText, protocol.ContentReply:
		v.Text = m.Content.Text
	case protocol.ContentReaction:
		v.Text = m.Content.Emoji
	case protocol.ContentMembership:
		v.SenderName = s.subject(m.Sender) // a notice: "you added bob"
		v.Text = s.membershipNote(m.Content.Membership)
	case protocol.ContentDevices:
		v.SenderName = s.subject(m.Sender)
		v.Text = s.devicesNote(ctx, m)
		if v.SenderName == "you" {
			v.Text = strings.Replace(v.Text, "changed their devices", "changed your devices", 1)
		}
	default:
		v.Text = "(content this version cannot show)"
	}
	if m.Content.Type == protocol.ContentReply || m.Content.Type == protocol.ContentReaction {
		v.Target = m.Content.Target.String()
	}
	return v
}

// ResolveGroup finds a group by full hex id, unique id prefix (at least 4 hex digits) or
// unique name (case-insensitive; active groups win over ones we left).
func (s *Service) ResolveGroup(ctx context.Context, ref string) (protocol.GroupInfo, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return protocol.GroupInfo{}, Errorf(CodeUsage, "name a group (id or name)")
	}
	gs, err := s.c.Groups(ctx)
	if err != nil {
		return protocol.GroupInfo{}, Classify(err)
	}
	if id, err := protocol.ParseGroupID(strings.ToLower(ref)); err == nil {
		for _, g := range gs {
			if g.ID == id {
				return g, nil
			}
		}
		return protocol.GroupInfo{}, Errorf(CodeUnknownGroup, "unknown group %s (chorus group list shows your groups)", ref)
	}
	var byName []protocol.GroupInfo
	for _, g := range gs {
		if strings.EqualFold(g.Name, ref) {
			byName = append(byName, g)
		}
	}
	if len(byName) > 1 {
		active := slices.DeleteFunc(slices.Clone(byName), func(g protocol.GroupInfo) bool { return g.Status != protocol.GroupActive })
		if len(active) == 1 {
			return active[0], nil
		}
		var ids []string
		for _, g := range byName {
			ids = append(ids, g.ID.String()[:12])
		}
		return protocol.GroupInfo{}, Errorf(CodeAmbiguous, "several groups are called %q (%s): use the id", ref, strings.Join(ids, ", "))
	}
	if len(byName) == 1 {
		return byName[0], nil
	}
	if len(ref) >= 4 && isHex(ref) {
		var hits []protocol.GroupInfo
		for _, g := range gs {
			if strings.HasPrefix(g.ID.String(), strings.ToLower(ref)) {
				hits = append(hits, g)
			}
		}
		if len(hits) == 1 {
			return hits[0], nil
		}
		if len(hits) > 1 {
			return protocol.GroupInfo{}, Errorf(CodeAmbiguous, "group id prefix %s matches %d groups", ref, len(hits))
		}
	}
	return protocol.GroupInfo{}, Errorf(CodeUnknownGroup, "unknown group %q (chorus group list shows your groups)", ref)
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

func (s *Service) resolveAccounts(ctx context.Context, refs []string) ([]string, error) {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		id, err := s.ResolveAccount(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// ResolveAccount finds an account by full id ("0x04…"), local name, "me", or unique id
// prefix among known contacts.
func (s *Service) ResolveAccount(ctx context.Context, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	a, err := s.account()
	if err != nil {
		return "", err
	}
	if ref == "me" || (s.cfg.Name != "" && strings.EqualFold(ref, s.cfg.Name)) {
		return a.ID, nil
	}
	if strings.HasPrefix(ref, "0x04") && len(ref) == 132 {
		if _, err := membership.ParsePublicKey(ref); err != nil {
			return "", Errorf(CodeUsage, "not an account id: %s", ShortID(ref))
		}
		if _, err := s.c.Contact(ctx, ref); err != nil && ref != a.ID {
			return "", Errorf(CodeUnknownContact, "unknown contact %s: add their contact code first (chorus contact add CODE)", ShortID(ref))
		}
		return ref, nil
	}
	named, err := s.lookupName(ctx, ref)
	if err != nil {
		return "", err
	}
	if len(named) == 1 {
		return named[0], nil
	} else if len(named) > 1 {
		return "", Errorf(CodeAmbiguous, "several contacts are called %q", ref)
	}
	prefix := strings.ToLower(strings.TrimPrefix(ref, "0x"))
	if len(prefix) >= 4 && isHex(prefix) {
		cs, err := s.c.Contacts(ctx)
		if err != nil {
			return "", Classify(err)
		}
		var hits []string
		for _, c := range cs {
			if strings.HasPrefix(strings.TrimPrefix(c.ID, "0x"), prefix) || strings.HasPrefix(strings.TrimPrefix(c.ID, "0x04"), prefix) {
				hits = append(hits, c.ID)
			}
		}
		if len(hits) == 1 {
			return hits[0], nil
		}
		if len(hits) > 1 {
			return "", Errorf(CodeAmbiguous, "%q matches %d contacts", ref, len(hits))
		}
	}
	return "", Errorf(CodeUnknownContact, "unknown contact %q: add their contact code first (chorus contact add CODE --name NAME)", ref)
}

// DisplayName is the local name of an account, "me" for ourselves, or a short id.
func (s *Service) DisplayName(id string) string {
	if a, err := s.c.Account(); err == nil && a.ID == id {
		if s.cfg.Name != "" {
			return s.cfg.Name
		}
		return "me"
	}
	if n := s.contactName(context.Background(), id); n != "" {
		return n
	}
	return ShortID(id)
}

// String formats a message view on one line for terminals.
func (v MessageView) String() string {
	mark := ""
	if v.Outgoing {
		switch v.Status {
		case "published":
			mark = " ✓"
		case "unpublished":
			mark = " …"
		case "failed":
			mark = " ✗ (failed)"
		}
	}
	text := v.Text
	switch v.Kind {
	case "membership", "devices":
		// A notice: who did what, without a delivery mark.
		return fmt.Sprintf("%s · %s %s", v.Time.Local().Format("15:04"), v.SenderName, v.Text)
	case "reaction":
		text = "reacted " + v.Text
	case "reply":
		text = "↪ " + v.Text
	}
	return fmt.Sprintf("%s %s: %s%s", v.Time.Local().Format("15:04"), display.Clean(v.SenderName), display.Clean(text), mark)
}
