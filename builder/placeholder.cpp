// placeholder so the module has a source; replaced by real code
