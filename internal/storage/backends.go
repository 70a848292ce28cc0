package storage

// iceberg-go's gocloud backends register the object-store schemes with its
// io registry (s3, s3a, s3n, oss; gs; abfs, abfss, wasb, wasbs), which
// io.LoadFS then serves. The local file system is always registered.
import (
	_ "github.com/apache/iceberg-go/io/gocloud/azure"
	_ "github.com/apache/iceberg-go/io/gocloud/gcs"
	_ "github.com/apache/iceberg-go/io/gocloud/s3"
)
