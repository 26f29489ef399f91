package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/display"
)

// call connects, runs one method with a progress indicator and returns the caller's
// exit code through handle.
func call(ctx context.Context, s *stdio, c *common, method, label string, params, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cl, err := connect(ctx, s, c, method)
	if err != nil {
		return err
	}
	defer cl.Close()
	done := progress(s, label)
	defer done()
	return cl.Call(ctx, method, params, out)
}

// sub dispatches "chorus NAME SUB ..." to the handler of SUB.
func sub(ctx context.Context, s *stdio, name string, args []string, subs map[string]func(context.Context, *stdio, []string) int, synopsis string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := s.err
		code := exitUsage
		if len(args) > 0 {
			w, code = s.out, exitOK
		}
		fmt.Fprintf(w, "usage: chorus %s\n", synopsis)
		return code
	}
	f, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(s.err, "chorus: unknown %s command %q (usage: chorus %s)\n", name, args[0], synopsis)
		return exitUsage
	}
	return f(ctx, s, args[1:])
}

// readArg returns arg, or a line of stdin when arg is "-".
func readArg(s *stdio, arg, what string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(bufio.NewReader(io.LimitReader(s.in, 1<<20)))
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", usagef("no %s on stdin", what)
	}
	return v, nil
}

// --- contact

const contactSynopsis = `contact add CODE|- [--name NAME]
       chorus contact name CONTACT NAME     (a local name for a known account: id, id prefix or name)
       chorus contact verify CONTACT        (the safety number to compare with the contact's)
       chorus contact share CONTACT         (let a contact read your announcements, as your code does)
       chorus contact list`

func runContact(ctx context.Context, s *stdio, args []string) int {
	return sub(ctx, s, "contact", args, map[string]func(context.Context, *stdio, []string) int{
		"add":    contactAdd,
		"name":   contactName,
		"list":   contactList,
		"verify": contactVerify,
		"share":  contactShare,
	}, contactSynopsis)
}

func contactAdd(ctx context.Context, s *stdio, args []string) int {
	var c common
	var name string
	fs := newFlags("contact add")
	c.register(fs)
	fs.StringVar(&name, "name", "", "a local name for the contact (used in group commands and chat)")
	pos, err := parse(fs, args, s, "contact add CODE|- [--name NAME]")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 {
		return fail(s, &c, usagef("usage: chorus contact add CODE|- [--name NAME]"))
	}
	code, err := readArg(s, pos[0], "contact code")
	if err != nil {
		return fail(s, &c, err)
	}
	var v app.ContactView
	if err := call(ctx, s, &c, "contact.add", "adding the contact", app.ContactAddParams{Code: code, Name: name}, &v); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, v, func(w io.Writer) {
		label := v.Name
		if label == "" {
			label = app.ShortID(v.ID)
		}
		fmt.Fprintf(w, "Added contact %s (%s, %d device(s))\n", display.Clean(label), v.ID, v.Installations)
	})
}

func contactName(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("contact name")
	c.register(fs)
	pos, err := parse(fs, args, s, "contact name CONTACT NAME")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 2 {
		return fail(s, &c, usagef("usage: chorus contact name CONTACT NAME"))
	}
	var v app.ContactView
	if err := call(ctx, s, &c, "contact.name", "naming the contact", app.ContactNameParams{Contact: pos[0], Name: pos[1]}, &v); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, v, func(w io.Writer) { fmt.Fprintf(w, "Named %s %s\n", v.ID, v.Name) })
}

func contactList(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("contact list")
	c.register(fs)
	pos, err := parse(fs, args, s, "contact list")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 0 {
		return fail(s, &c, usagef("usage: chorus contact list"))
	}
	var vs []app.ContactView
	if err := call(ctx, s, &c, "contact.list", "listing contacts", nil, &vs); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, vs, func(w io.Writer) {
		if len(vs) == 0 {
			fmt.Fprintln(w, "no contacts yet: `chorus contact add CODE --name NAME`")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDEVICES\tADDED\tACCOUNT")
		for _, v := range vs {
			name := v.Name
			if name == "" {
				name = "-"
			}
			added := "-" // met in a group, not added
			switch {
			case !v.AddedAt.IsZero():
				added = v.AddedAt.Local().Format("2006-01-02")
			case v.Added:
				added = "yes"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", display.Clean(name), v.Installations, added, v.ID)
		}
		tw.Flush()
	})
}

// --- group

const groupSynopsis = `group create NAME [MEMBER...] [--description TEXT]
       chorus group add GROUP MEMBER...
       chorus group remove GROUP MEMBER...
       chorus group leave GROUP
       chorus group rename GROUP NAME
       chorus group describe GROUP TEXT
       chorus group list
       chorus group members GROUP
GROUP is a group id (hex), a unique id prefix or a unique name; MEMBER is a contact's
name, account id or unique id prefix.`

func runGroup(ctx context.Context, s *stdio, args []string) int {
	return sub(ctx, s, "group", args, map[string]func(context.Context, *stdio, []string) int{
		"create":   groupCreate,
		"add":      func(ctx context.Context, s *stdio, a []string) int { return groupMembers(ctx, s, a, true) },
		"remove":   func(ctx context.Context, s *stdio, a []string) int { return groupMembers(ctx, s, a, false) },
		"leave":    groupLeave,
		"rename":   func(ctx context.Context, s *stdio, a []string) int { return groupText(ctx, s, a, true) },
		"describe": func(ctx context.Context, s *stdio, a []string) int { return groupText(ctx, s, a, false) },
		"list":     groupList,
		"members":  groupMembersList,
	}, groupSynopsis)
}

func printGroup(w io.Writer, verb string, g app.GroupView) {
	fmt.Fprintf(w, "%s group %q (id %s)\n", verb, display.Clean(g.Name), g.ID)
	if g.Description != "" {
		fmt.Fprintf(w, "  description: %s\n", display.Clean(g.Description))
	}
	var ms []string
	for _, m := range g.Members {
		n := display.Clean(m.Name)
		if m.Admin {
			n += " (admin)"
		}
		ms = append(ms, n)
	}
	fmt.Fprintf(w, "  members: %s\n", strings.Join(ms, ", "))
	if g.Status != "active" {
		fmt.Fprintf(w, "  status: %s\n", g.Status)
	}
}

func groupCreate(ctx context.Context, s *stdio, args []string) int {
	var c common
	var desc string
	fs := newFlags("group create")
	c.register(fs)
	fs.StringVar(&desc, "description", "", "the group's description")
	pos, err := parse(fs, args, s, "group create NAME [MEMBER...] [--description TEXT]")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) < 1 {
		return fail(s, &c, usagef("usage: chorus group create NAME [MEMBER...] [--description TEXT]"))
	}
	var g app.GroupView
	p := app.GroupCreateParams{Name: pos[0], Description: desc, Members: pos[1:]}
	if err := call(ctx, s, &c, "group.create", "creating the group and welcoming its members", p, &g); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, g, func(w io.Writer) { printGroup(w, "Created", g) })
}

func groupMembers(ctx context.Context, s *stdio, args []string, add bool) int {
	var c common
	verb, method, label := "add", "group.add", "adding members"
	if !add {
		verb, method, label = "remove", "group.remove", "removing members"
	}
	fs := newFlags("group " + verb)
	c.register(fs)
	syn := "group " + verb + " GROUP MEMBER..."
	pos, err := parse(fs, args, s, syn)
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) < 2 {
		return fail(s, &c, usagef("usage: chorus %s", syn))
	}
	var g app.GroupView
	if err := call(ctx, s, &c, method, label, app.GroupMembersParams{Group: pos[0], Members: pos[1:]}, &g); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, g, func(w io.Writer) { printGroup(w, "Updated", g) })
}

func groupLeave(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("group leave")
	c.register(fs)
	pos, err := parse(fs, args, s, "group leave GROUP")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 {
		return fail(s, &c, usagef("usage: chorus group leave GROUP"))
	}
	var g app.GroupView
	if err := call(ctx, s, &c, "group.leave", "leaving the group", app.GroupParams{Group: pos[0]}, &g); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, g, func(w io.Writer) { fmt.Fprintf(w, "Left group %q\n", display.Clean(g.Name)) })
}

func groupText(ctx context.Context, s *stdio, args []string, rename bool) int {
	var c common
	verb, method, what := "describe", "group.describe", "TEXT"
	if rename {
		verb, method, what = "rename", "group.rename", "NAME"
	}
	fs := newFlags("group " + verb)
	c.register(fs)
	syn := "group " + verb + " GROUP " + what
	pos, err := parse(fs, args, s, syn)
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) < 2 {
		return fail(s, &c, usagef("usage: chorus %s", syn))
	}
	text := strings.Join(pos[1:], " ")
	var g app.GroupView
	if err := call(ctx, s, &c, method, "updating the group", app.GroupTextParams{Group: pos[0], Text: text}, &g); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, g, func(w io.Writer) { printGroup(w, "Updated", g) })
}

func groupList(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("group list")
	c.register(fs)
	pos, err := parse(fs, args, s, "group list")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 0 {
		return fail(s, &c, usagef("usage: chorus group list"))
	}
	var gs []app.GroupView
	if err := call(ctx, s, &c, "group.list", "listing groups", nil, &gs); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, gs, func(w io.Writer) {
		if len(gs) == 0 {
			fmt.Fprintln(w, "no groups yet: `chorus group create NAME MEMBER...`")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tMEMBERS\tSTATUS\tDESCRIPTION")
		for _, g := range gs {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", g.ID[:12], display.Clean(g.Name), len(g.Members), g.Status, display.Clean(g.Description))
		}
		tw.Flush()
	})
}

func groupMembersList(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("group members")
	c.register(fs)
	pos, err := parse(fs, args, s, "group members GROUP")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 {
		return fail(s, &c, usagef("usage: chorus group members GROUP"))
	}
	var ms []app.MemberView
	if err := call(ctx, s, &c, "group.members", "listing members", app.GroupParams{Group: pos[0]}, &ms); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, ms, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tACCOUNT")
		for _, m := range ms {
			role := "member"
			if m.Admin {
				role = "admin"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", display.Clean(m.Name), role, m.ID)
		}
		tw.Flush()
	})
}

// --- send, read

func runSend(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("send")
	c.register(fs)
	pos, err := parse(fs, args, s, "send GROUP TEXT...|-")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) < 2 {
		return fail(s, &c, usagef("usage: chorus send GROUP TEXT...|-"))
	}
	text := strings.Join(pos[1:], " ")
	if text, err = readArg(s, text, "message"); err != nil {
		return fail(s, &c, err)
	}
	var m app.MessageView
	if err := call(ctx, s, &c, "send", "sending", app.SendParams{Group: pos[0], Text: text}, &m); err != nil {
		return fail(s, &c, err)
	}
	code := emit(s, &c, m, func(w io.Writer) {
		switch m.Status {
		case "published":
			fmt.Fprintf(w, "sent ✓ (message %s…)\n", m.ID[:12])
		case "failed":
			fmt.Fprintf(w, "✗ not sent: publishing failed (message %s…)\n", m.ID[:12])
		default:
			fmt.Fprintf(w, "queued … (message %s…): no peer reachable now; the node keeps it and publishes it when a peer connects\n", m.ID[:12])
		}
	})
	if m.Status == "failed" {
		return exitFailure
	}
	return code
}

func runRead(ctx context.Context, s *stdio, args []string) int {
	var c common
	var limit int
	var follow bool
	fs := newFlags("read")
	c.register(fs)
	fs.IntVar(&limit, "limit", 50, "show the newest N messages (0: all)")
	fs.BoolVar(&follow, "follow", false, "keep printing new messages (needs a running node)")
	fs.BoolVar(&follow, "f", false, "short for --follow")
	pos, err := parse(fs, args, s, "read GROUP [--limit N] [--follow]")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 {
		return fail(s, &c, usagef("usage: chorus read GROUP [--limit N] [--follow]"))
	}
	if limit < 0 {
		return fail(s, &c, usagef("--limit must be >= 0"))
	}
	if !follow {
		var ms []app.MessageView
		if err := call(ctx, s, &c, "read", "reading", app.ReadParams{Group: pos[0], Limit: limit}, &ms); err != nil {
			return fail(s, &c, err)
		}
		return emit(s, &c, ms, func(w io.Writer) {
			for _, m := range ms {
				fmt.Fprintln(w, m)
			}
		})
	}
	cl, err := connect(ctx, s, &c, "read")
	if err != nil {
		return fail(s, &c, err)
	}
	defer cl.Close()
	if _, ok := cl.(remote); !ok {
		return fail(s, &c, app.Errorf(app.CodeNoNode, "--follow needs a running node (`chorus node`)"))
	}
	events, err := cl.Watch(ctx, pos[0])
	if err != nil {
		return fail(s, &c, err)
	}
	var ms []app.MessageView
	if err := cl.Call(ctx, "read", app.ReadParams{Group: pos[0], Limit: limit}, &ms); err != nil {
		return fail(s, &c, err)
	}
	enc := json.NewEncoder(s.out) // --json: one object per line
	printed := map[string]bool{}
	for _, m := range ms {
		printed[m.ID] = true
		if c.json {
			_ = enc.Encode(m)
		} else {
			fmt.Fprintln(s.out, m)
		}
	}
	label := groupLabel(cl)
	for ev := range events {
		if ev.Message != nil {
			if printed[ev.Message.ID] {
				continue // already shown by the first read
			}
			printed[ev.Message.ID] = true
		}
		printEvent(s.out, &c, label, ev)
	}
	return exitOK
}

// --- devices

const devicesSynopsis = `devices list
       chorus devices link CODE|- [--name NAME]     (on a device holding the account key)
       chorus devices revoke DEVICE                 (a lost device: it is not told)
       chorus devices remove DEVICE                 (a device you still have: it is told and wipes its keys)
A new device gets its link code from ` + "`chorus init --link`" + `; DEVICE is a device name, an
installation id or a unique id prefix (chorus devices list).`

func runDevices(ctx context.Context, s *stdio, args []string) int {
	return sub(ctx, s, "devices", args, map[string]func(context.Context, *stdio, []string) int{
		"list":   devicesList,
		"link":   devicesLink,
		"revoke": func(ctx context.Context, s *stdio, a []string) int { return devicesRevoke(ctx, s, a, false) },
		"remove": func(ctx context.Context, s *stdio, a []string) int { return devicesRevoke(ctx, s, a, true) },
	}, devicesSynopsis)
}

func devicesLink(ctx context.Context, s *stdio, args []string) int {
	var c common
	var name string
	fs := newFlags("devices link")
	c.register(fs)
	fs.StringVar(&name, "name", "", "the new device's name")
	pos, err := parse(fs, args, s, "devices link CODE|- [--name NAME]")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 {
		return fail(s, &c, usagef("usage: chorus devices link CODE|- [--name NAME]"))
	}
	if pos[0] != "-" {
		warnArgvSecret(s, "link code", "chorus devices link -")
	}
	code, err := readArg(s, pos[0], "link code")
	if err != nil {
		return fail(s, &c, err)
	}
	var d app.DeviceView
	if err := call(ctx, s, &c, "devices.link", "linking the device", app.DeviceParams{Code: code, Name: name}, &d); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, d, func(w io.Writer) {
		fmt.Fprintf(w, "Linked %s (installation %s): it receives your contacts and groups and reads new messages from now on\n", deviceLabel(d), d.Installation)
	})
}

func devicesRevoke(ctx context.Context, s *stdio, args []string, remove bool) int {
	var c common
	verb, method, label := "revoke", "devices.revoke", "revoking the device"
	if remove {
		verb, method, label = "remove", "devices.remove", "removing the device"
	}
	fs := newFlags("devices " + verb)
	c.register(fs)
	pos, err := parse(fs, args, s, "devices "+verb+" DEVICE")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 {
		return fail(s, &c, usagef("usage: chorus devices %s DEVICE", verb))
	}
	var d app.DeviceView
	if err := call(ctx, s, &c, method, label, app.DeviceParams{Installation: pos[0]}, &d); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, d, func(w io.Writer) {
		if remove {
			fmt.Fprintf(w, "Removed %s: it is told, leaves every group and forgets their keys; your groups rotate their keys\n", deviceLabel(d))
			return
		}
		fmt.Fprintf(w, "Revoked %s (permanent): it can read nothing sent from now on; your groups rotate their keys\n", deviceLabel(d))
	})
}

func deviceLabel(d app.DeviceView) string {
	if d.Name != "" {
		return fmt.Sprintf("%q", display.Clean(d.Name))
	}
	return d.Installation[:8]
}

func devicesList(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("devices list")
	c.register(fs)
	pos, err := parse(fs, args, s, "devices list")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 0 {
		return fail(s, &c, usagef("usage: chorus devices list"))
	}
	var ds []app.DeviceView
	if err := call(ctx, s, &c, "devices.list", "listing devices", nil, &ds); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, ds, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "INSTALLATION\tNAME\tPLATFORM\tADDED\tSTATUS\t")
		for _, d := range ds {
			cur, added := "", "-"
			if d.Current {
				cur = "(this device)"
			}
			if !d.Added.IsZero() {
				added = d.Added.Local().Format("2006-01-02 15:04")
			}
			name := d.Name
			if name == "" {
				name = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Installation, display.Clean(name), display.Clean(d.Platform), added, d.Status, cur)
		}
		tw.Flush()
	})
}
