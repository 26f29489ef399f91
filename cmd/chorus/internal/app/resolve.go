package app

import (
	"context"
	"slices"
	"strings"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
)

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
