package app

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/chorus-im/chorus/protocol"
)

// SetLinkCode puts the service in the waiting-to-be-linked state (the node runs an
// installation created by LinkCode): status and id show code until the link arrives.
func (s *Service) SetLinkCode(code string) { s.linkCode.Store(&code) }

// pendingLink returns the link code while waiting to be linked ("" otherwise).
func (s *Service) pendingLink() string {
	if p := s.linkCode.Load(); p != nil {
		return *p
	}
	return ""
}

// Devices lists our account's installations (active and revoked), oldest first.
func (s *Service) Devices(ctx context.Context) ([]DeviceView, error) {
	if _, err := s.account(); err != nil {
		return nil, err
	}
	ins, err := s.c.Installations(ctx)
	if err != nil {
		return nil, Classify(err)
	}
	out := make([]DeviceView, 0, len(ins))
	for _, in := range ins {
		out = append(out, deviceView(in))
	}
	return out, nil
}

func deviceView(in protocol.Installation) DeviceView {
	return DeviceView{Installation: in.ID.String(), Name: in.Name, Platform: in.Platform, Added: in.Added,
		Current: in.Current, Status: in.Status.String()}
}

// LinkDevice links the installation that shows p.Code (`chorus init --link`) to our
// account, naming it p.Name.
func (s *Service) LinkDevice(ctx context.Context, p DeviceParams) (DeviceView, error) {
	code, err := NormalizeCode(strings.TrimSpace(p.Code)) // also the QR form
	if err != nil {
		return DeviceView{}, Errorf(CodeBadLinkCode, "%v", err)
	}
	if code == "" {
		return DeviceView{}, Errorf(CodeUsage, "no link code")
	}
	if !strings.HasPrefix(code, protocol.LinkCodePrefix) {
		if strings.HasPrefix(code, protocol.ContactCodePrefix) {
			return DeviceView{}, Errorf(CodeBadLinkCode, "that is a contact code (chorus contact add); a link code starts with %s", protocol.LinkCodePrefix)
		}
		return DeviceView{}, Errorf(CodeBadLinkCode, "bad link code: it starts with %s", protocol.LinkCodePrefix)
	}
	if _, err := s.account(); err != nil {
		return DeviceView{}, err
	}
	id, err := s.c.LinkDevice(ctx, code, p.Name)
	if err != nil {
		return DeviceView{}, Classify(err)
	}
	ds, err := s.Devices(ctx)
	if err != nil {
		return DeviceView{}, err
	}
	for _, d := range ds {
		if d.Installation == id.String() {
			return d, nil
		}
	}
	return DeviceView{Installation: id.String(), Name: p.Name, Status: "active"}, nil
}

// RevokeDevice revokes one of our installations (a lost device: it is not told).
func (s *Service) RevokeDevice(ctx context.Context, p DeviceParams) (DeviceView, error) {
	return s.revokeDevice(ctx, false, p)
}

// RemoveDevice removes one of our installations that we still have: as RevokeDevice,
// and the removed installation is told, so it deletes its keys and leaves its groups.
func (s *Service) RemoveDevice(ctx context.Context, p DeviceParams) (DeviceView, error) {
	return s.revokeDevice(ctx, true, p)
}

func (s *Service) revokeDevice(ctx context.Context, remove bool, p DeviceParams) (DeviceView, error) {
	id, err := s.ResolveDevice(ctx, p.Installation)
	if err != nil {
		return DeviceView{}, err
	}
	if ds, err := s.Devices(ctx); err == nil {
		for _, d := range ds {
			if d.Installation == id.String() && d.Status == "revoked" {
				name := d.Name
				if name == "" {
					name = d.Installation[:8]
				}
				return DeviceView{}, Errorf(CodeNotAllowed, "device %q is already revoked (chorus devices list)", name)
			}
		}
	}
	if remove {
		err = s.c.RemoveInstallation(ctx, id)
	} else {
		err = s.c.RevokeInstallation(ctx, id)
	}
	if err != nil {
		return DeviceView{}, Classify(err)
	}
	ds, err := s.Devices(ctx)
	if err != nil {
		return DeviceView{}, err
	}
	for _, d := range ds {
		if d.Installation == id.String() {
			return d, nil
		}
	}
	return DeviceView{Installation: id.String(), Status: "revoked"}, nil
}

// ResolveDevice finds one of our installations by full hex id, unique id prefix (4+ hex
// digits) or unique name (case-insensitive).
func (s *Service) ResolveDevice(ctx context.Context, ref string) (protocol.InstallationID, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return protocol.InstallationID{}, Errorf(CodeUsage, "name a device (installation id or name; chorus devices list)")
	}
	ds, err := s.Devices(ctx)
	if err != nil {
		return protocol.InstallationID{}, err
	}
	var hits []string
	for _, d := range ds {
		if strings.EqualFold(d.Name, ref) {
			hits = append(hits, d.Installation)
		}
	}
	if len(hits) == 0 && len(ref) >= 4 && isHex(ref) {
		for _, d := range ds {
			if strings.HasPrefix(d.Installation, strings.ToLower(ref)) {
				hits = append(hits, d.Installation)
			}
		}
	}
	switch len(hits) {
	case 1:
		var id protocol.InstallationID
		b, _ := hex.DecodeString(hits[0])
		copy(id[:], b)
		return id, nil
	case 0:
		return protocol.InstallationID{}, Errorf(CodeUnknownDevice, "no device %q on this account (chorus devices list)", ref)
	}
	return protocol.InstallationID{}, Errorf(CodeAmbiguous, "%q matches %d devices: use the installation id", ref, len(hits))
}
