package batch

import (
	"errors"

	"github.com/sessionize/sessionize/internal/iceberg"
)

func errorsIsConflict(err error) bool { return errors.Is(err, iceberg.ErrConflict) }
