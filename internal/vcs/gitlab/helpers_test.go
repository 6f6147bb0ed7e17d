package gitlab_test

import (
	"errors"

	"github.com/hoistdev/hoist/internal/apperr"
)

func asAppErr(err error, target **apperr.Error) bool { return errors.As(err, target) }
