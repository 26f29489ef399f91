package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

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
