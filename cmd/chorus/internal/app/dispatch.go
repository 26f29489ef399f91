package app

import (
	"context"
	"encoding/json"
	"slices"
)

// Method names a request of the socket protocol (rpc.Request.Method).
type Method string

// The methods Dispatch knows.
const (
	MethodStatus        Method = "status"
	MethodID            Method = "id"
	MethodContactAdd    Method = "contact.add"
	MethodContactList   Method = "contact.list"
	MethodContactName   Method = "contact.name"
	MethodContactVerify Method = "contact.verify"
	MethodContactShare  Method = "contact.share"
	MethodGroupCreate   Method = "group.create"
	MethodGroupAdd      Method = "group.add"
	MethodGroupRemove   Method = "group.remove"
	MethodGroupLeave    Method = "group.leave"
	MethodGroupRename   Method = "group.rename"
	MethodGroupDescribe Method = "group.describe"
	MethodGroupList     Method = "group.list"
	MethodGroupMembers  Method = "group.members"
	MethodGroupInfo     Method = "group.info"
	MethodSend          Method = "send"
	MethodRead          Method = "read"
	MethodDevicesList   Method = "devices.list"
	MethodDevicesLink   Method = "devices.link"
	MethodDevicesRevoke Method = "devices.revoke"
	MethodDevicesRemove Method = "devices.remove"
)

// handler runs one method: it decodes the JSON params into the method's own type and
// calls the Service.
type handler struct {
	// publishes: the method needs a reachable peer (a running node accepts a send
	// without one: the engine keeps it Unpublished in its outbox).
	publishes bool
	// anonymous: the method works before the installation has an account.
	anonymous bool
	run       func(s *Service, ctx context.Context, m Method, params json.RawMessage) (any, error)
}

// local and publishing build handlers for a method whose parameters decode into P.
func local[P, R any](f func(*Service, context.Context, P) (R, error)) handler {
	return handler{run: decoded(f)}
}

func publishing[P, R any](f func(*Service, context.Context, P) (R, error)) handler {
	return handler{publishes: true, run: decoded(f)}
}

func decoded[P, R any](f func(*Service, context.Context, P) (R, error)) func(*Service, context.Context, Method, json.RawMessage) (any, error) {
	return func(s *Service, ctx context.Context, m Method, params json.RawMessage) (any, error) {
		var p P
		if len(params) > 0 {
			if err := json.Unmarshal(params, &p); err != nil {
				return nil, Errorf(CodeUsage, "bad parameters for %s: %v", m, err)
			}
		}
		return f(s, ctx, p)
	}
}

// none adapts a method without parameters.
func none[R any](f func(*Service, context.Context) (R, error)) func(*Service, context.Context, struct{}) (R, error) {
	return func(s *Service, ctx context.Context, _ struct{}) (R, error) { return f(s, ctx) }
}

var methods = map[Method]handler{
	MethodStatus: {anonymous: true, run: decoded(none((*Service).Status))},
	MethodID:     {anonymous: true, run: decoded(none((*Service).ID))},

	MethodContactAdd:    local((*Service).AddContact),
	MethodContactList:   local(none((*Service).Contacts)),
	MethodContactName:   local((*Service).NameContact),
	MethodContactVerify: local((*Service).VerifyContact),
	MethodContactShare:  publishing((*Service).ShareAnnouncements),

	MethodGroupCreate:   publishing((*Service).CreateGroup),
	MethodGroupAdd:      publishing((*Service).AddMembers),
	MethodGroupRemove:   publishing((*Service).RemoveMembers),
	MethodGroupLeave:    publishing((*Service).Leave),
	MethodGroupRename:   publishing((*Service).Rename),
	MethodGroupDescribe: publishing((*Service).Describe),
	MethodGroupList:     local(none((*Service).Groups)),
	MethodGroupMembers:  local((*Service).members),
	MethodGroupInfo: local(func(s *Service, ctx context.Context, p GroupParams) (GroupView, error) {
		return s.GroupInfo(ctx, p.Group)
	}),

	MethodSend: publishing((*Service).Send),
	MethodRead: local((*Service).Read),

	MethodDevicesList:   local(none((*Service).Devices)),
	MethodDevicesLink:   publishing((*Service).LinkDevice),
	MethodDevicesRevoke: publishing((*Service).RevokeDevice),
	MethodDevicesRemove: publishing((*Service).RemoveDevice),
}

// MethodNames lists every method Dispatch knows, sorted.
func MethodNames() []Method {
	out := make([]Method, 0, len(methods))
	for m := range methods {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// NeedsNetwork reports whether method publishes (so a one-shot command needs peers).
func NeedsNetwork(method string) bool { return methods[Method(method)].publishes }

// Dispatch runs method with JSON params and returns the result to encode.
func (s *Service) Dispatch(ctx context.Context, method string, params json.RawMessage) (any, error) {
	m := Method(method)
	h, ok := methods[m]
	if !ok {
		return nil, Errorf(CodeUsage, "unknown method %q", method)
	}
	if !h.anonymous {
		if _, err := s.account(); err != nil {
			return nil, err
		}
	}
	if h.publishes && !(s.node && s.net != nil && m == MethodSend) {
		// A running node accepts a message with no peer reachable: the engine keeps it
		// Unpublished in its outbox and publishes it when a peer appears.
		if s.net == nil {
			return nil, Errorf(CodeNoPeers, "no peers reachable: not connected to a Waku network")
		}
		if err := s.net.Ready(ctx); err != nil {
			return nil, err
		}
	}
	return h.run(s, ctx, m, params)
}

// members lists a group's members (method group.members).
func (s *Service) members(ctx context.Context, p GroupParams) ([]MemberView, error) {
	g, err := s.GroupInfo(ctx, p.Group)
	return g.Members, err
}
