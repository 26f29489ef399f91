package main

/*
#include <stdlib.h>
#include "chorus.h"

typedef const char chorus_cchar;
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/bindings/c/abijson"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// errorCodes maps the engine's and transports' errors to codes (first match wins).
var errorCodes = []struct {
	err  error
	code C.int
}{
	{protocol.ErrNoAccount, codeNoAccount},
	{protocol.ErrAccountExists, codeAccountExists},
	{protocol.ErrClosed, codeClosed},
	{protocol.ErrUnknownGroup, codeUnknownGroup},
	{protocol.ErrNotMember, codeNotMember},
	{protocol.ErrNotAdmin, codeNotAdmin},
	{protocol.ErrUnknownContact, codeUnknownContact},
	{protocol.ErrBadContactCode, codeBadContactCode},
	{protocol.ErrBadLinkCode, codeBadLinkCode},
	{protocol.ErrInvalidContent, codeInvalidContent},
	{protocol.ErrInvalidID, codeInvalidArgument},
	{abijson.ErrInvalid, codeInvalidArgument},
	{protocol.ErrNotAccountHolder, codeNotAccountHolder},
	{protocol.ErrTooManyInstallations, codeTooManyInstallations},
	{protocol.ErrInstallationRevoked, codeInstallationRevoked},
	{protocol.ErrUnknownInstallation, codeUnknownInstallation},
	{protocol.ErrCurrentInstallation, codeCurrentInstallation},
	{protocol.ErrAlreadyLinked, codeAlreadyLinked},
	{transport.ErrClosed, codeClosed},
	{transport.ErrNoPeers, codeNetwork},
	{transport.ErrPayloadTooLarge, codeNetwork},
	{transport.ErrEmptyPayload, codeNetwork},
	{transport.ErrInvalidTopic, codeNetwork},
	{transport.ErrNoTopics, codeNetwork},
	{transport.ErrNoHistory, codeNetwork},
	{persistence.ErrClosed, codeClosed},
}

// ---- clients ----

// client is a chorus.Client with the Run loop the ABI manages for it: Run starts when
// the client has an account (or waits for a link) and stops at close.
type client struct {
	c      *chorus.Client
	ctx    context.Context // cancelled by close: blocked calls return
	cancel context.CancelFunc

	mu      sync.Mutex
	runDone chan struct{} // nil: Run not started; closed: Run returned
	closed  bool
}

// goOnline starts Run unless it is running.
func (cl *client) goOnline() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return
	}
	if cl.runDone != nil {
		select {
		case <-cl.runDone:
		default:
			return
		}
	}
	done := make(chan struct{})
	cl.runDone = done
	go func() {
		defer close(done)
		_ = cl.c.Run(cl.ctx)
	}()
}

func (cl *client) close() error {
	cl.mu.Lock()
	cl.closed = true
	done := cl.runDone
	cl.mu.Unlock()
	cl.cancel()
	err := cl.c.Close()
	if done != nil {
		<-done
	}
	return err
}

func getClient(h C.chorus_client) (*client, error) { return lookup[*client](C.uint64_t(h)) }

//export chorus_client_open
func chorus_client_open(dataDir *C.chorus_cchar, t C.chorus_transport, options *C.chorus_cchar, out *C.chorus_client, errOut **C.char) C.int {
	return call(errOut, func() error {
		dir, err := goString(dataDir, "data_dir", false)
		if err != nil {
			return err
		}
		n, err := lookup[*node](C.uint64_t(t))
		if err != nil {
			return err
		}
		var o abijson.ClientOptions
		if err := decodeOptional(options, "options_json", &o); err != nil {
			return err
		}
		if out == nil {
			return errCode(codeInvalidArgument, "chorus: out must not be NULL")
		}
		var opts []protocol.Option
		if o.DeviceName != "" || o.DevicePlatform != "" {
			opts = append(opts, protocol.WithDevice(o.DeviceName, o.DevicePlatform))
		}
		if o.SyncIntervalMS > 0 {
			opts = append(opts, protocol.WithSyncInterval(millis(o.SyncIntervalMS)))
		}
		if o.BurstSpreadMS != nil {
			if *o.BurstSpreadMS < 0 {
				return errCode(codeInvalidArgument, "chorus: burst_spread_ms must not be negative")
			}
			opts = append(opts, protocol.WithBurstSpread(millis(*o.BurstSpreadMS)))
		}
		ctx, cancel := context.WithCancel(context.Background())
		c, err := chorus.Open(ctx, dir, n.t, opts...)
		if err != nil {
			cancel()
			if codeOf(err) == codeInternal {
				return &callError{code: codeStorage, err: err}
			}
			return err
		}
		cl := &client{c: c, ctx: ctx, cancel: cancel}
		if _, err := c.Account(); err == nil || c.WaitingForLink() {
			cl.goOnline()
		}
		*out = C.chorus_client(newHandle(cl))
		return nil
	})
}

//export chorus_client_close
func chorus_client_close(h C.chorus_client, errOut **C.char) C.int {
	return call(errOut, func() error {
		cl, err := getClient(h)
		if err != nil {
			return err
		}
		deleteHandle(C.uint64_t(h))
		return cl.close()
	})
}

// withClient runs fn on the client of h.
func withClient(h C.chorus_client, errOut **C.char, fn func(cl *client) error) C.int {
	return call(errOut, func() error {
		cl, err := getClient(h)
		if err != nil {
			return err
		}
		return fn(cl)
	})
}

func groupID(p *C.chorus_cchar) (protocol.GroupID, error) {
	s, err := goString(p, "group_id", false)
	if err != nil {
		return protocol.GroupID{}, err
	}
	id, err := protocol.ParseGroupID(s)
	if err != nil {
		return id, errCode(codeInvalidArgument, "chorus: invalid group id %q", s)
	}
	return id, nil
}

func installationID(p *C.chorus_cchar) (protocol.InstallationID, error) {
	var id protocol.InstallationID
	s, err := goString(p, "installation_id", false)
	if err != nil {
		return id, err
	}
	if err := abijson.DecodeHex(s, id[:]); err != nil {
		return id, errCode(codeInvalidArgument, "chorus: invalid installation id %q", s)
	}
	return id, nil
}

func memberList(p *C.chorus_cchar) ([]string, error) {
	var members []string
	if err := decodeOptional(p, "members_json", &members); err != nil {
		return nil, err
	}
	return members, nil
}

//export chorus_create_account
func chorus_create_account(h C.chorus_client, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		a, err := cl.c.CreateAccount(cl.ctx)
		if err != nil {
			return err
		}
		cl.goOnline()
		return setJSON(out, abijson.AccountOf(a))
	})
}

//export chorus_account
func chorus_account(h C.chorus_client, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		a, err := cl.c.Account()
		if err != nil {
			return err
		}
		return setJSON(out, abijson.AccountOf(a))
	})
}

//export chorus_contact_code
func chorus_contact_code(h C.chorus_client, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		code, err := cl.c.ContactCode(cl.ctx)
		if err != nil {
			return err
		}
		setOut(out, code)
		return nil
	})
}

//export chorus_add_contact
func chorus_add_contact(h C.chorus_client, code *C.chorus_cchar, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		s, err := goString(code, "code", false)
		if err != nil {
			return err
		}
		ct, err := cl.c.AddContact(cl.ctx, s)
		if err != nil {
			return err
		}
		return setJSON(out, abijson.ContactOf(ct))
	})
}

//export chorus_contacts
func chorus_contacts(h C.chorus_client, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		cs, err := cl.c.Contacts(cl.ctx)
		if err != nil {
			return err
		}
		js := make([]abijson.Contact, 0, len(cs))
		for _, c := range cs {
			js = append(js, abijson.ContactOf(c))
		}
		return setJSON(out, js)
	})
}

//export chorus_create_group
func chorus_create_group(h C.chorus_client, name, description, members *C.chorus_cchar, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		n, err := goString(name, "name", false)
		if err != nil {
			return err
		}
		d, _ := goString(description, "description", true)
		ms, err := memberList(members)
		if err != nil {
			return err
		}
		id, err := cl.c.CreateGroup(cl.ctx, n, d, ms...)
		if err != nil {
			return err
		}
		setOut(out, id.String())
		return nil
	})
}

//export chorus_groups
func chorus_groups(h C.chorus_client, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		gs, err := cl.c.Groups(cl.ctx)
		if err != nil {
			return err
		}
		js := make([]abijson.Group, 0, len(gs))
		for _, g := range gs {
			js = append(js, abijson.GroupOf(g))
		}
		return setJSON(out, js)
	})
}

//export chorus_group
func chorus_group(h C.chorus_client, gid *C.chorus_cchar, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		id, err := groupID(gid)
		if err != nil {
			return err
		}
		g, err := cl.c.Group(cl.ctx, id)
		if err != nil {
			return err
		}
		return setJSON(out, abijson.GroupOf(g))
	})
}

func membersCall(h C.chorus_client, gid, members *C.chorus_cchar, errOut **C.char,
	fn func(c *chorus.Client, ctx context.Context, id protocol.GroupID, ms ...string) error) C.int {
	return withClient(h, errOut, func(cl *client) error {
		id, err := groupID(gid)
		if err != nil {
			return err
		}
		ms, err := memberList(members)
		if err != nil {
			return err
		}
		return fn(cl.c, cl.ctx, id, ms...)
	})
}

//export chorus_add_members
func chorus_add_members(h C.chorus_client, gid, members *C.chorus_cchar, errOut **C.char) C.int {
	return membersCall(h, gid, members, errOut, func(c *chorus.Client, ctx context.Context, id protocol.GroupID, ms ...string) error {
		return c.AddMembers(ctx, id, ms...)
	})
}

//export chorus_remove_members
func chorus_remove_members(h C.chorus_client, gid, members *C.chorus_cchar, errOut **C.char) C.int {
	return membersCall(h, gid, members, errOut, func(c *chorus.Client, ctx context.Context, id protocol.GroupID, ms ...string) error {
		return c.RemoveMembers(ctx, id, ms...)
	})
}

//export chorus_add_admins
func chorus_add_admins(h C.chorus_client, gid, members *C.chorus_cchar, errOut **C.char) C.int {
	return membersCall(h, gid, members, errOut, func(c *chorus.Client, ctx context.Context, id protocol.GroupID, ms ...string) error {
		return c.AddAdmins(ctx, id, ms...)
	})
}

//export chorus_leave
func chorus_leave(h C.chorus_client, gid *C.chorus_cchar, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		id, err := groupID(gid)
		if err != nil {
			return err
		}
		return cl.c.Leave(cl.ctx, id)
	})
}

//export chorus_set_name
func chorus_set_name(h C.chorus_client, gid, name *C.chorus_cchar, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		id, err := groupID(gid)
		if err != nil {
			return err
		}
		n, err := goString(name, "name", false)
		if err != nil {
			return err
		}
		return cl.c.SetName(cl.ctx, id, n)
	})
}

//export chorus_send
func chorus_send(h C.chorus_client, gid, content *C.chorus_cchar, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		id, err := groupID(gid)
		if err != nil {
			return err
		}
		s, err := goString(content, "content_json", false)
		if err != nil {
			return err
		}
		var cj abijson.Content
		if err := json.Unmarshal([]byte(s), &cj); err != nil {
			return errCode(codeInvalidArgument, "chorus: content_json: %v", err)
		}
		ct, err := cj.Decode()
		if err != nil {
			return err
		}
		mid, err := cl.c.Send(cl.ctx, id, ct)
		if err != nil {
			return err
		}
		setOut(out, mid.String())
		return nil
	})
}

//export chorus_send_text
func chorus_send_text(h C.chorus_client, gid, text *C.chorus_cchar, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		id, err := groupID(gid)
		if err != nil {
			return err
		}
		s, err := goString(text, "text", false)
		if err != nil {
			return err
		}
		mid, err := cl.c.Send(cl.ctx, id, protocol.Text(s))
		if err != nil {
			return err
		}
		setOut(out, mid.String())
		return nil
	})
}

//export chorus_messages
func chorus_messages(h C.chorus_client, gid, filter *C.chorus_cchar, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		id, err := groupID(gid)
		if err != nil {
			return err
		}
		var fj abijson.Filter
		if err := decodeOptional(filter, "filter_json", &fj); err != nil {
			return err
		}
		f, err := fj.Decode()
		if err != nil {
			return err
		}
		ms, err := cl.c.Messages(cl.ctx, id, f)
		if err != nil {
			return err
		}
		js := make([]abijson.Message, 0, len(ms))
		for _, m := range ms {
			js = append(js, abijson.MessageOf(m))
		}
		return setJSON(out, js)
	})
}

//export chorus_sync
func chorus_sync(h C.chorus_client, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error { return cl.c.Sync(cl.ctx) })
}

//export chorus_link_code
func chorus_link_code(h C.chorus_client, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		code, err := cl.c.LinkCode(cl.ctx)
		if err != nil {
			return err
		}
		cl.goOnline()
		setOut(out, code)
		return nil
	})
}

//export chorus_link_device
func chorus_link_device(h C.chorus_client, code, name *C.chorus_cchar, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		s, err := goString(code, "code", false)
		if err != nil {
			return err
		}
		n, _ := goString(name, "name", true)
		id, err := cl.c.LinkDevice(cl.ctx, s, n)
		if err != nil {
			return err
		}
		setOut(out, id.String())
		return nil
	})
}

//export chorus_installations
func chorus_installations(h C.chorus_client, out **C.char, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		ins, err := cl.c.Installations(cl.ctx)
		if err != nil {
			return err
		}
		js := make([]abijson.Installation, 0, len(ins))
		for _, in := range ins {
			js = append(js, abijson.InstallationOf(in))
		}
		return setJSON(out, js)
	})
}

//export chorus_revoke_installation
func chorus_revoke_installation(h C.chorus_client, iid *C.chorus_cchar, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		id, err := installationID(iid)
		if err != nil {
			return err
		}
		return cl.c.RevokeInstallation(cl.ctx, id)
	})
}

//export chorus_remove_installation
func chorus_remove_installation(h C.chorus_client, iid *C.chorus_cchar, errOut **C.char) C.int {
	return withClient(h, errOut, func(cl *client) error {
		id, err := installationID(iid)
		if err != nil {
			return err
		}
		return cl.c.RemoveInstallation(cl.ctx, id)
	})
}

// decodeOptional unmarshals the JSON at p into v; NULL leaves v unchanged.
func decodeOptional(p *C.chorus_cchar, name string, v any) error {
	s, err := goString(p, name, true)
	if err != nil || p == nil {
		return err
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return errCode(codeInvalidArgument, "chorus: %s: %v", name, err)
	}
	return nil
}

func setJSON(out **C.char, v any) error {
	if out == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("chorus: encoding result: %w", err)
	}
	*out = C.CString(string(b))
	return nil
}
