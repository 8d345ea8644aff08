// Package durable holds the one step every writer of files in Stele needs
// after creating, renaming or removing a file: fsync of the directory, so the
// change itself survives a power loss.
package durable

import "os"

// SyncDir fsyncs directory dir.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
