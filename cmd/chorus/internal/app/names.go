package app

import (
	"context"
	"strings"
)

// Contact names live in the engine (protocol.Client.SetContactName), which shares them
// with the account's other devices. names.json of earlier versions is moved there once
// (moveNames); until a name is moved it is still read from there.

// contactName is our name for account ("" none).
func (s *Service) contactName(ctx context.Context, id string) string {
	s.moveNames(ctx)
	if ct, err := s.c.Contact(ctx, id); err == nil && ct.Name != "" {
		return ct.Name
	}
	return s.names.Get(id)
}

// lookupName returns the accounts we call name (case-insensitive).
func (s *Service) lookupName(ctx context.Context, name string) ([]string, error) {
	s.moveNames(ctx)
	cs, err := s.c.Contacts(ctx)
	if err != nil {
		return nil, Classify(err)
	}
	var out []string
	for _, ct := range cs {
		n := ct.Name
		if n == "" {
			n = s.names.Get(ct.ID)
		}
		if n != "" && strings.EqualFold(n, name) {
			out = append(out, ct.ID)
		}
	}
	return out, nil
}

// setName names a known account on all our devices ("" removes the name).
func (s *Service) setName(ctx context.Context, id, name string) error {
	if err := s.c.SetContactName(ctx, id, name); err != nil {
		return Classify(err)
	}
	if s.names.Get(id) != "" {
		return s.names.Set(id, "")
	}
	return nil
}

// moveNames moves the names of names.json into the engine, once per process with an
// account: a name the engine does not have yet is set there (and so reaches our other
// devices), then dropped from the file.
func (s *Service) moveNames(ctx context.Context) {
	if s.namesMoved.Load() {
		return
	}
	if _, err := s.c.Account(); err != nil {
		return
	}
	s.namesMoveMu.Lock()
	defer s.namesMoveMu.Unlock()
	if s.namesMoved.Load() {
		return
	}
	for id, name := range s.names.All() {
		ct, err := s.c.Contact(ctx, id)
		if err != nil {
			continue // not a known account (yet): keep it in the file
		}
		if ct.Name == "" {
			if err := s.c.SetContactName(ctx, id, name); err != nil {
				continue
			}
		}
		_ = s.names.Set(id, "")
	}
	s.namesMoved.Store(true)
}

// subject names an account in a sentence: "you" for our own account.
func (s *Service) subject(id string) string {
	if a, err := s.c.Account(); err == nil && a.ID == id {
		return "you"
	}
	return s.DisplayName(id)
}

// ShareAnnouncements gives a known account (name, id or id prefix) the secret that opens
// our announcements, as giving it our contact code would: it can then look us up by our
// account key and follow our device list.
func (s *Service) ShareAnnouncements(ctx context.Context, p ContactVerifyParams) (ContactView, error) {
	a, err := s.account()
	if err != nil {
		return ContactView{}, err
	}
	id, err := s.ResolveAccount(ctx, p.Contact)
	if err != nil {
		return ContactView{}, err
	}
	if id == a.ID {
		return ContactView{}, Errorf(CodeUsage, "that is your own account")
	}
	if err := s.c.ShareAnnouncements(ctx, id); err != nil {
		return ContactView{}, Classify(err)
	}
	ct, err := s.c.Contact(ctx, id)
	if err != nil {
		return ContactView{}, Classify(err)
	}
	return s.contactView(ct), nil
}
