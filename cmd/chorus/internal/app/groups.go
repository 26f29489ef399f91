package app

import (
	"context"
	"slices"
	"strings"

	"github.com/chorus-im/chorus/protocol"
)

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
