// Saves each answer as the supplier leaves it, and shows or hides follow-up
// questions at once. Without JavaScript the page works the same through
// "Save and continue", which posts the whole section.
const form = document.querySelector('form[data-autosave]')

if (form) {
  const url = form.dataset.autosave
  const status = document.getElementById('autosave-status')
  const csrf = form.querySelector('input[name="csrf_token"]').value

  const wrapperOf = (element) => element.closest('[data-question]')
  const revisionInput = (id) => form.querySelector(`input[name="rev-${id}"]`)

  const say = (text) => { status.textContent = text }

  function valueOf (wrapper, id) {
    const radios = wrapper.querySelectorAll(`input[type="radio"][name="${id}"]`)
    if (radios.length) {
      const checked = wrapper.querySelector(`input[type="radio"][name="${id}"]:checked`)
      return checked ? checked.value : null
    }
    const boxes = wrapper.querySelectorAll(`input[type="checkbox"][name="${id}"]`)
    if (boxes.length) {
      return Array.from(boxes).filter((box) => box.checked).map((box) => box.value)
    }
    // Table cells are named <id>-<row>-<column>; comments and evidence are not cells.
    const cells = Array.from(wrapper.querySelectorAll(`[name^="${id}-"]`))
      .filter((cell) => /^-\d+-[^-]+$/.test(cell.name.slice(id.length)))
    if (cells.length) {
      const rows = {}
      cells.forEach((cell) => {
        const [, index, column] = cell.name.match(/-(\d+)-(.+)$/) || []
        if (index === undefined) return
        rows[index] = rows[index] || {}
        rows[index][column] = cell.value
      })
      return Object.keys(rows).sort((a, b) => a - b).map((key) => rows[key])
    }
    const field = wrapper.querySelector(`[name="${id}"]`)
    return field ? field.value : null
  }

  function showQuestions (shown) {
    Object.entries(shown).forEach(([id, visible]) => {
      const wrapper = form.querySelector(`[data-question="${id}"]`)
      if (!wrapper || wrapper.hidden === !visible) return
      wrapper.hidden = !visible
      let marker = wrapper.querySelector('input[name="shown"]')
      if (visible && !marker) {
        marker = document.createElement('input')
        Object.assign(marker, { type: 'hidden', name: 'shown', value: id })
        wrapper.prepend(marker)
      }
    })
  }

  async function save (id, isComment) {
    const wrapper = form.querySelector(`[data-question="${id}"]`)
    const payload = { answers: {}, comments: {}, revisions: {} }
    if (isComment) {
      payload.comments[id] = wrapper.querySelector(`[name="${id}-comment"]`).value
    } else {
      payload.answers[id] = valueOf(wrapper, id)
    }
    const revision = revisionInput(id)
    if (revision) payload.revisions[id] = Number(revision.value)
    say('Saving…')
    let response
    try {
      response = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
        body: JSON.stringify(payload)
      })
    } catch (error) {
      say('Not saved: the connection was lost. Your answers are still on this page: press "Save and come back later" when you are back online.')
      return
    }
    if (![200, 409, 422].includes(response.status)) {
      say('Not saved: your session may have ended. Your answers are still on this page: open the link from your email again, then press "Save and come back later" here.')
      return
    }
    const result = await response.json()
    Object.entries(result.revisions).forEach(([question, number]) => {
      const input = revisionInput(question)
      if (input) input.value = number
    })
    showQuestions(result.shown)
    const problems = { ...result.errors, ...result.conflicts }
    if (Object.keys(problems).length) {
      const label = wrapper.querySelector('legend, label')
      say(`Not saved: ${label ? label.textContent.trim() + ': ' : ''}${Object.values(problems)[0]}`)
    } else {
      say('Saved')
    }
  }

  // One save at a time per question: a second change while the first save is
  // on its way waits for it, then sends the newest value with the revision
  // the first save returned. Sent at once, it would carry the revision the
  // first is about to replace and be refused as "changed in another tab".
  const queues = new Map()

  async function drain (id, queue) {
    queue.running = true
    try {
      while (queue.answer || queue.comment) {
        const isComment = !queue.answer
        queue[isComment ? 'comment' : 'answer'] = false
        await save(id, isComment)
      }
    } finally {
      queue.running = false
    }
  }

  function requestSave (id, isComment) {
    if (!queues.has(id)) queues.set(id, { running: false, answer: false, comment: false })
    const queue = queues.get(id)
    queue[isComment ? 'comment' : 'answer'] = true
    if (!queue.running) drain(id, queue)
  }

  form.addEventListener('change', (event) => {
    const target = event.target
    if (target.type === 'file' || target.name === 'shown' || target.name.startsWith('rev-')) return
    const wrapper = wrapperOf(target)
    if (!wrapper) return
    requestSave(wrapper.dataset.question, target.name.endsWith('-comment'))
  })
}
