// Package storage is where a warehouse's files live: a local directory or a
// bucket on an object store (S3 and S3-compatible servers, Google Cloud
// Storage, Azure), reached through iceberg-go's io layer (io.LoadFS and the
// io.IO / io.WriteFileIO / io.ListableIO interfaces), the same layer
// iceberg-go reads and writes table files through. Table data, table
// metadata and the pipeline's checkpoints therefore share one storage and
// one set of credentials.
//
// A Store adds to iceberg-go's IO what sessionize needs beyond it: writes
// that readers see whole or not at all (a fsync'd rename on a local disk; a
// single PUT on an object store), listing with modification times, deletes
// that treat a missing file as done, and a probe at open so that a wrong
// endpoint, bucket or credentials is reported at start, not at the first
// commit.
package storage
