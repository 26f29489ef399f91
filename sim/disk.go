package sim

import (
	"database/sql"
	"fmt"
	"os"

	_ "github.com/mattn/go-sqlite3" // sqlite driver (also registered by persistence)
)

// diskTables are the tables reported with the byte sums of their variable-size columns.
var diskTables = []struct{ name, cols string }{
	{"contacts", "LENGTH(account) + LENGTH(card)"},
	{"installations", "LENGTH(account) + COALESCE(LENGTH(bundle), 0) + 81"},
	{"sessions", "LENGTH(remote_account) + LENGTH(ad) + COALESCE(LENGTH(initial_header), 0) + LENGTH(state) + 80"},
	{"receivers", "LENGTH(account) + LENGTH(state) + 48"},
	{"chat_groups", "COALESCE(LENGTH(events), 0) + COALESCE(LENGTH(sender), 0) + COALESCE(LENGTH(history), 0) + LENGTH(chat_id) + 64"},
	{"group_log", "LENGTH(chunk) + 48"},
	{"messages", "LENGTH(body) + LENGTH(sender_account) + 150"},
	{"outbox", "LENGTH(payload) + LENGTH(topic)"},
	{"prekeys", "LENGTH(data)"},
	{"seen", "40"},
}

// diskUsage reports a closed store file's size and its main tables.
func diskUsage(path, role string) (DiskUsage, error) {
	u := DiskUsage{Role: role}
	st, err := os.Stat(path)
	if err != nil {
		return u, err
	}
	u.Bytes = st.Size()
	for _, suffix := range []string{"-wal", "-shm"} {
		if st, err := os.Stat(path + suffix); err == nil {
			u.Bytes += st.Size()
		}
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return u, err
	}
	defer db.Close()
	for _, t := range diskTables {
		var rows, bytes sql.NullInt64
		q := fmt.Sprintf("SELECT COUNT(*), SUM(%s) FROM %s", t.cols, t.name)
		if err := db.QueryRow(q).Scan(&rows, &bytes); err != nil {
			return u, fmt.Errorf("sim: %s: %w", t.name, err)
		}
		u.Tables = append(u.Tables, TableUsage{Name: t.name, Rows: rows.Int64, Bytes: bytes.Int64})
	}
	return u, nil
}
