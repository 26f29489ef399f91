package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/chorus-im/chorus/transport/waku"
)

const rlnSynopsis = "rln create [--members N] [--out DIR] [--json]"

// rlnCreated lists the files `chorus rln create` wrote.
type rlnCreated struct {
	Group       string   `json:"group"`
	Credentials []string `json:"credentials"`
}

// runRLN implements `chorus rln create`: N fresh RLN credentials (one per node of a
// local network, DIR/credential-<i>.json, secret: owner-only) and the group file listing
// their commitments (DIR/group.json), for `chorus node --rln-credential --rln-group`.
func runRLN(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("rln")
	c.register(fs)
	members := fs.Int("members", 3, "number of members (credentials) to create")
	out := fs.String("out", "rln", "directory to write the group and credential files to")
	pos, err := parse(fs, args, s, rlnSynopsis)
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 || pos[0] != "create" {
		return fail(s, &c, usagef("usage: chorus %s", rlnSynopsis))
	}
	if *members < 1 || *members > 1<<20 {
		return fail(s, &c, usagef("--members must be between 1 and %d", 1<<20))
	}
	creds, err := waku.NewRLNCredentials(*members)
	if err != nil {
		return fail(s, &c, err)
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fail(s, &c, err)
	}
	var res rlnCreated
	group := make([]waku.RLNCommitment, len(creds))
	for i, cr := range creds {
		group[i] = cr.IDCommitment
		b, err := cr.MarshalJSON()
		if err != nil {
			return fail(s, &c, err)
		}
		p := filepath.Join(*out, fmt.Sprintf("credential-%d.json", i+1))
		if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
			return fail(s, &c, err)
		}
		res.Credentials = append(res.Credentials, p)
	}
	gb, err := waku.MarshalRLNGroup(group)
	if err != nil {
		return fail(s, &c, err)
	}
	res.Group = filepath.Join(*out, "group.json")
	if err := os.WriteFile(res.Group, gb, 0o600); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, res, func(w io.Writer) {
		fmt.Fprintf(w, "RLN group of %d member(s): %s\n", len(creds), res.Group)
		for _, p := range res.Credentials {
			fmt.Fprintf(w, "  credential %s\n", p)
		}
		fmt.Fprintf(w, "Run each node with its own credential: chorus node --rln-credential %s --rln-group %s\n", res.Credentials[0], res.Group)
	})
}
