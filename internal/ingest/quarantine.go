package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"stele/internal/durable"
	"stele/internal/wal"
)

// quarantine keeps the first n records after file after of the log in dir and moves the whole
// damaged log aside, to dir.corrupt-TIME for inspection, so that records
// logged from now on are not hidden behind the damage at the next Open. The
// good prefix is copied to a new log in dir.rebuild, which then replaces dir
// by renames: a crash leaves the old log, or the new one in dir or in
// dir.rebuild, which recoverRebuild puts in place.
func quarantine(dir string, after uint64, n int64) error {
	tmp := dir + ".rebuild"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("ingest: quarantine: %w", err)
	}
	l, err := wal.Open(tmp, wal.Options{After: after})
	if err != nil {
		return fmt.Errorf("ingest: quarantine: %w", err)
	}
	var i int64
	_, err = wal.ReplayAfter(dir, after, func(p []byte) error {
		if i == n {
			return errStop
		}
		i++
		_, err := l.Append(p)
		return err
	})
	if cerr := l.Close(); err == nil || err == errStop {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ingest: quarantine: %w", err)
	}
	aside := fmt.Sprintf("%s.corrupt-%d", dir, time.Now().UnixNano())
	if err := os.Rename(dir, aside); err != nil {
		return fmt.Errorf("ingest: quarantine: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("ingest: quarantine: %w", err)
	}
	return syncDir(filepath.Dir(dir))
}

// recoverRebuild finishes a quarantine that a crash interrupted between its
// two renames.
func recoverRebuild(dir string) error {
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(dir + ".rebuild"); err != nil {
		return nil
	}
	if err := os.Rename(dir+".rebuild", dir); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	return syncDir(filepath.Dir(dir))
}

func syncDir(dir string) error {
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	return nil
}
