// The curator's try-out page: follow-up questions appear and disappear as the
// sample answers change, as they do for a supplier. The whole form is sent
// (nothing is stored); the server says which questions are asked.
const form = document.querySelector('form[data-preview]')

if (form) {
  let pending = null

  async function refresh () {
    const body = new FormData(form)
    let response
    try {
      response = await fetch(form.dataset.preview, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRFToken': body.get('csrf_token') },
        body
      })
    } catch (error) {
      return // the page still works: "Show the findings" posts the whole form
    }
    if (!response.ok) return
    const { shown } = await response.json()
    Object.entries(shown).forEach(([id, visible]) => {
      const wrapper = form.querySelector(`[data-question="${id}"]`)
      if (wrapper) wrapper.hidden = !visible
    })
  }

  form.addEventListener('change', () => {
    clearTimeout(pending)
    pending = setTimeout(refresh, 150)
  })
}
