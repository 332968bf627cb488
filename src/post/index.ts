import { savePost } from '../cache.js'

// The action's post step (action.yml runs.post): saves the caches the main step built.
await savePost()
