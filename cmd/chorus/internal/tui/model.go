// Package tui is the interactive terminal chat of `chorus chat`: a pure Model (state,
// keys, events, a text rendering of the screen) and Run, which drives it on a terminal
// with plain ANSI sequences. VT is a minimal terminal emulator for tests.
package tui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/display"
)

// Help is the hint shown on the status line.
const Help = "Enter send · PgUp/PgDn scroll · Ctrl-C quit"

// entry is one line item of the message pane: a message or a notice.
type entry struct {
	msg     *app.MessageView
	notice  string
	sending int // local id of a message being sent (0: none)
	failed  bool
}

// Model is the chat state. It is not safe for concurrent use; Run owns it.
type Model struct {
	Group  app.GroupView
	Peers  int // -1: unknown
	Width  int
	Height int

	entries []entry
	byID    map[string]int // message id -> entries index
	input   []rune
	cursor  int
	scroll  int // rows scrolled up from the bottom
	status  string
	nextID  int
	quit    bool
}

// NewModel returns a model for group on a w×h screen.
func NewModel(group app.GroupView, w, h int) *Model {
	return &Model{Group: group, Peers: -1, Width: w, Height: h, byID: map[string]int{}}
}

// Quit reports whether the user asked to leave.
func (m *Model) Quit() bool { return m.quit }

// SetStatus shows a transient message on the status line ("" restores the help).
func (m *Model) SetStatus(s string) { m.status = s }

// Load replaces the message list (oldest first).
func (m *Model) Load(msgs []app.MessageView) {
	var keep []entry
	for _, e := range m.entries {
		if e.msg == nil {
			keep = append(keep, e) // notices and messages being sent stay
		}
	}
	m.entries, m.byID = nil, map[string]int{}
	for i := range msgs {
		m.Upsert(msgs[i])
	}
	m.entries = append(m.entries, keep...)
	m.reindex()
}

func (m *Model) reindex() {
	m.byID = map[string]int{}
	for i, e := range m.entries {
		if e.msg != nil {
			m.byID[e.msg.ID] = i
		}
	}
}

// Upsert adds a message or updates the one with its id. Membership and device-list
// messages show as notices ("· alice added carol").
func (m *Model) Upsert(v app.MessageView) {
	switch v.Kind {
	case "text", "reply", "reaction", "membership", "devices":
	default:
		return // kinds this version cannot show are not chat lines
	}
	if i, ok := m.byID[v.ID]; ok {
		m.entries[i].msg = &v
		return
	}
	m.entries = append(m.entries, entry{msg: &v})
	m.byID[v.ID] = len(m.entries) - 1
}

// Apply folds an engine event into the model. It reports whether the group's
// description (members, name) should be reloaded.
func (m *Model) Apply(ev app.EventView) (reloadGroup bool) {
	if ev.Group != "" && ev.Group != m.Group.ID {
		return false
	}
	switch ev.Type {
	case app.EventMessage:
		m.Upsert(*ev.Message)
	case app.EventDelivery:
		if i, ok := m.byID[ev.MessageID]; ok {
			v := *m.entries[i].msg
			v.Status = ev.Status
			m.entries[i].msg = &v
		} else if ev.Message != nil && ev.Message.Outgoing && ev.Status != "unknown" {
			// Our own message sent from another terminal (chorus send) or device command.
			v := *ev.Message
			v.Status = ev.Status
			m.Upsert(v)
		}
	case app.EventMembership:
		// What changed shows as the membership message's notice; only our removal (and
		// the group description) needs more.
		if ev.Removed {
			m.notice("· " + ev.Text)
		}
		return true
	case app.EventMissing:
		m.notice("! " + ev.Text)
	case app.EventDevices:
		m.notice("· " + ev.Text)
		return ev.Removed // this device left every group
	case app.EventDropped:
		m.notice("! " + ev.Text)
		return true
	}
	return false
}

func (m *Model) notice(s string) { m.entries = append(m.entries, entry{notice: s}) }

// Sending records a message being sent and returns its local id.
func (m *Model) Sending(text string) int {
	m.nextID++
	m.entries = append(m.entries, entry{sending: m.nextID, notice: text})
	return m.nextID
}

// Sent replaces the pending entry local with the stored message, or marks it failed.
func (m *Model) Sent(local int, v *app.MessageView, err error) {
	for i, e := range m.entries {
		if e.sending != local {
			continue
		}
		if err != nil {
			m.entries[i].failed = true
			m.status = "✗ not sent: " + err.Error()
			return
		}
		if _, dup := m.byID[v.ID]; dup {
			m.entries = append(m.entries[:i], m.entries[i+1:]...)
		} else {
			m.entries[i] = entry{msg: v}
		}
		m.reindex()
		return
	}
}

// Key handles a key press and returns the text to send, if any.
func (m *Model) Key(k Key) (send string) {
	m.status = "" // a transient message lasts until the next key
	switch k.Kind {
	case KeyRune:
		m.input = append(m.input[:m.cursor], append([]rune{k.Rune}, m.input[m.cursor:]...)...)
		m.cursor++
	case KeyBackspace:
		if m.cursor > 0 {
			m.input = append(m.input[:m.cursor-1], m.input[m.cursor:]...)
			m.cursor--
		}
	case KeyDelete:
		if m.cursor < len(m.input) {
			m.input = append(m.input[:m.cursor], m.input[m.cursor+1:]...)
		}
	case KeyLeft:
		m.cursor = max(0, m.cursor-1)
	case KeyRight:
		m.cursor = min(len(m.input), m.cursor+1)
	case KeyHome:
		m.cursor = 0
	case KeyEnd:
		m.cursor = len(m.input)
	case KeyCtrlU:
		m.input, m.cursor = nil, 0
	case KeyUp:
		m.scroll++
	case KeyDown:
		m.scroll = max(0, m.scroll-1)
	case KeyPgUp:
		m.scroll += max(1, m.bodyHeight()-1)
	case KeyPgDn:
		m.scroll = max(0, m.scroll-max(1, m.bodyHeight()-1))
	case KeyCtrlC, KeyCtrlD:
		m.quit = true
	case KeyEnter:
		text := strings.TrimSpace(string(m.input))
		m.input, m.cursor = nil, 0
		if text == "" {
			return ""
		}
		if text == "/quit" {
			m.quit = true
			return ""
		}
		if m.Group.Status != "active" {
			m.status = "✗ not sent: you are no longer a member of this group"
			return ""
		}
		m.scroll = 0
		return text
	}
	return ""
}

func (m *Model) bodyHeight() int { return max(1, m.Height-5) }

func (m *Model) sideWidth() int {
	if m.Width < 60 {
		return 0
	}
	return min(26, m.Width/3)
}

// View renders the screen as Height lines of exactly Width cells (runes), and the
// cursor position (row, column, 0-based).
func (m *Model) View() (lines []string, row, col int) {
	w, h := max(m.Width, 20), max(m.Height, 7)
	side := m.sideWidth()
	bodyW := w
	if side > 0 {
		bodyW = w - side - 1
	}
	bodyH := h - 5 // header, separator, bottom separator, status, input

	// header
	title := "# " + display.Clean(m.Group.Name)
	if m.Group.Description != "" {
		title += " — " + display.Clean(m.Group.Description)
	}
	right := fmt.Sprintf("%d members", len(m.Group.Members))
	if m.Peers >= 0 {
		right += fmt.Sprintf(" · %d peers", m.Peers)
	}
	if m.Group.Status != "active" && m.Group.Status != "" {
		right = "you are no longer a member"
	}
	lines = append(lines, fit(" "+clip(title, w-width(right)-3)+" ", w-width(right)-1)+right+" ")

	// separators
	sep := strings.Repeat("─", w)
	if side > 0 {
		sep = strings.Repeat("─", bodyW) + "┬" + strings.Repeat("─", side)
	}
	lines = append(lines, sep)

	// body: wrapped messages, bottom-aligned, scrolled
	var rows []string
	for _, e := range m.entries {
		rows = append(rows, wrap(display.Clean(m.render(e)), bodyW)...)
	}
	maxScroll := max(0, len(rows)-bodyH)
	m.scroll = min(m.scroll, maxScroll)
	end := len(rows) - m.scroll
	start := max(0, end-bodyH)
	visible := rows[start:end]
	pad := bodyH - len(visible)
	members := m.memberRows(side, bodyH)
	for i := range bodyH {
		left := ""
		if i >= pad {
			left = visible[i-pad]
		}
		line := fit(left, bodyW)
		if side > 0 {
			line += "│" + fit(members[i], side)
		}
		lines = append(lines, line)
	}
	bottom := strings.Repeat("─", w)
	if side > 0 {
		bottom = strings.Repeat("─", bodyW) + "┴" + strings.Repeat("─", side)
	}
	lines = append(lines, bottom)

	// status line and input
	status := display.Clean(m.status)
	if status == "" {
		status = Help
		if m.scroll > 0 {
			status = fmt.Sprintf("scrolled up %d lines · PgDn to return · %s", m.scroll, Help)
		}
	}
	lines = append(lines, fit(" "+status, w))
	prompt := "> "
	avail := w - len(prompt) - 1
	start = 0
	if m.cursor > avail {
		start = m.cursor - avail
	}
	shown := m.input[start:]
	if len(shown) > avail+1 {
		shown = shown[:avail+1]
	}
	lines = append(lines, fit(prompt+string(shown), w))
	return lines, h - 1, len(prompt) + m.cursor - start
}

func (m *Model) render(e entry) string {
	switch {
	case e.sending != 0:
		mark := " …"
		if e.failed {
			mark = " ✗ not sent"
		}
		return "      me: " + e.notice + mark
	case e.msg == nil:
		return e.notice
	}
	v := e.msg
	name := v.SenderName
	if v.Outgoing {
		name = "me"
	}
	text := v.Text
	switch v.Kind {
	case "membership", "devices":
		if v.Outgoing {
			name = "you"
		}
		return fmt.Sprintf("%s · %s %s", v.Time.Local().Format("15:04"), name, v.Text)
	case "reaction":
		text = "reacted " + v.Text
	case "reply":
		text = "↪ " + v.Text
	}
	mark := ""
	if v.Outgoing {
		switch v.Status {
		case "published":
			mark = " ✓"
		case "failed":
			mark = " ✗ failed"
		default:
			mark = " …"
		}
	}
	return fmt.Sprintf("%s %s: %s%s", v.Time.Local().Format("15:04"), name, text, mark)
}

func (m *Model) memberRows(side, n int) []string {
	rows := make([]string, n)
	if side == 0 {
		return rows
	}
	list := []string{fmt.Sprintf(" Members (%d)", len(m.Group.Members))}
	for _, mb := range m.Group.Members {
		mark := "   "
		if mb.Admin {
			mark = " * "
		}
		name := display.Clean(mb.Name)
		if mb.Self {
			name += " (you)"
		}
		list = append(list, mark+name)
	}
	if len(list) > n {
		list = append(list[:n-1], fmt.Sprintf("   … %d more", len(list)-n+1))
	}
	copy(rows, list)
	if n >= len(list)+2 {
		rows[n-1] = " * admin"
	}
	return rows
}

// width is the number of cells of s (one per rune).
func width(s string) int { return utf8.RuneCountInString(s) }

// clip cuts s to at most n cells, marking the cut with "…".
func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if width(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// fit clips or pads s to exactly n cells.
func fit(s string, n int) string {
	s = clip(s, n)
	return s + strings.Repeat(" ", n-width(s))
}

// wrap splits s into rows of at most n cells, breaking at spaces where possible;
// continuation rows are indented.
func wrap(s string, n int) []string {
	const indent = "      "
	if n <= len(indent)+4 {
		return []string{clip(s, n)}
	}
	var out []string
	r := []rune(s)
	first := true
	for len(r) > 0 {
		limit := n
		if !first {
			limit = n - len(indent)
		}
		if len(r) <= limit {
			out = append(out, prefix(first, indent)+string(r))
			break
		}
		cut := limit
		for i := limit; i > limit/2; i-- {
			if r[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, prefix(first, indent)+string(r[:cut]))
		r = r[cut:]
		for len(r) > 0 && r[0] == ' ' {
			r = r[1:]
		}
		first = false
	}
	return out
}

func prefix(first bool, indent string) string {
	if first {
		return ""
	}
	return indent
}
